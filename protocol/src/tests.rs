//! Wire-shape tests: spellings, optionality and id exactness.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed assertion.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::methods::*;
use crate::*;

fn wire<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn auth_mode_and_account_tag_spellings() {
    assert_eq!(wire(&AuthMode::ApiKey), json!("apikey"));
    assert_eq!(wire(&AuthMode::Chatgpt), json!("chatgpt"));
    assert_eq!(
        wire(&AuthMode::ChatgptAuthTokens),
        json!("chatgptAuthTokens")
    );
    assert_eq!(wire(&Account::ApiKey {}), json!({"type": "apiKey"}));
    assert_eq!(
        wire(&Account::Chatgpt {
            email: None,
            plan_type: PlanType::Pro,
            workspace_name: None,
        }),
        json!({"type": "chatgpt", "email": null, "planType": "pro", "workspaceName": null})
    );
    assert_eq!(
        wire(&LoginAccountResponse::ApiKey {}),
        json!({"type": "apiKey"})
    );
}

#[test]
fn plan_type_unknown_strings_decode_as_unknown() {
    let plan: PlanType = serde_json::from_value(json!("enterprise_plus_2030")).unwrap();
    assert_eq!(plan, PlanType::Unknown);
    let plan: PlanType = serde_json::from_value(json!("self_serve_business_usage_based")).unwrap();
    assert_eq!(plan, PlanType::SelfServeBusinessUsageBased);
    assert_eq!(
        wire(&PlanType::EnterpriseCbpUsageBased),
        json!("enterprise_cbp_usage_based")
    );
}

#[test]
fn request_ids_round_trip_exactly() {
    for id in [
        json!(9007199254740993_i64),
        json!(-5),
        json!(""),
        json!("abc"),
    ] {
        let parsed: RequestId = serde_json::from_value(id.clone()).unwrap();
        assert_eq!(wire(&parsed), id);
    }
    let text = serde_json::to_string(&RequestId::Integer(9007199254740993)).unwrap();
    assert_eq!(text, "9007199254740993");
    assert!(serde_json::from_value::<RequestId>(json!(1.5)).is_err());
}

#[test]
fn refresh_failure_key_only_when_asked() {
    let mut status = GetAuthStatusResponse {
        auth_method: None,
        auth_token: None,
        requires_openai_auth: true,
        refresh_failure: None,
    };
    assert_eq!(
        wire(&status),
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": true})
    );
    status.refresh_failure = Some(None);
    assert_eq!(wire(&status)["refreshFailure"], Value::Null);
    assert!(
        wire(&status)
            .as_object()
            .unwrap()
            .contains_key("refreshFailure")
    );
}

#[test]
fn optional_params_accept_missing_and_null() {
    let params: GetAuthStatusParams =
        serde_json::from_value(json!({"includeToken": null})).unwrap();
    assert_eq!(params, GetAuthStatusParams::default());
    let err = serde_json::from_value::<GetAuthStatusParams>(json!({"includeToken": "yes"}))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "invalid type: string \"yes\", expected a boolean");
}

#[test]
fn login_account_params_errors_name_the_variants() {
    let err = serde_json::from_value::<LoginAccountParams>(json!({"type": "bogus"}))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "unknown variant `bogus`, expected one of `apiKey`, `chatgpt`, `chatgptDeviceCode`, `chatgptAuthTokens`"
    );
    let err = serde_json::from_value::<LoginAccountParams>(json!({}))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "missing field `type`");
    let params: LoginAccountParams =
        serde_json::from_value(json!({"type": "chatgpt", "codexStreamlinedLogin": true})).unwrap();
    assert_eq!(
        params,
        LoginAccountParams::Chatgpt {
            use_hosted_login_success_page: None,
            app_brand: None,
            codex_streamlined_login: Some(true),
        }
    );
    let params: LoginAccountParams = serde_json::from_value(
        json!({"type": "chatgpt", "useHostedLoginSuccessPage": true, "appBrand": "chatgpt"}),
    )
    .unwrap();
    assert_eq!(
        params,
        LoginAccountParams::Chatgpt {
            use_hosted_login_success_page: Some(true),
            app_brand: Some(LoginAppBrand::Chatgpt),
            codex_streamlined_login: None,
        }
    );
}

#[test]
fn notifications_serialize_as_method_and_params() {
    let note = ServerNotification::AccountUpdated(AccountUpdatedNotification {
        auth_mode: Some(AuthMode::ApiKey),
        plan_type: None,
        reason: None,
    });
    assert_eq!(
        wire(&note),
        json!({"method": ACCOUNT_UPDATED,
               "params": {"authMode": "apikey", "planType": null, "reason": null}})
    );
    let sent = crate::ServerNotificationEnvelope {
        notification: note,
        emitted_at_ms: 1_796_179_472_445,
    };
    assert_eq!(
        wire(&sent),
        json!({"method": ACCOUNT_UPDATED,
               "params": {"authMode": "apikey", "planType": null, "reason": null},
               "emittedAtMs": 1_796_179_472_445_u64})
    );
    let request = ServerRequest::ChatgptAuthTokensRefresh {
        id: RequestId::Integer(0),
        params: ChatgptAuthTokensRefreshParams {
            reason: ChatgptAuthTokensRefreshReason::Unauthorized,
            previous_account_id: Some("org-123".into()),
        },
    };
    assert_eq!(
        wire(&request),
        json!({"method": ACCOUNT_CHATGPT_AUTH_TOKENS_REFRESH, "id": 0,
               "params": {"reason": "unauthorized", "previousAccountId": "org-123"}})
    );
}

#[test]
fn method_consts_match_the_client_request_union() {
    for method in requests::client_request_names() {
        let message = json!({"method": method, "id": 1, "params": {
            "clientInfo": {"name": "n", "version": "1"},
            "apiKey": "k", "loginId": "1b4e28ba-2fa1-4d2e-883f-0016d3cca427", "type": "chatgpt"
        }});
        let request: ClientRequest = serde_json::from_value(message).unwrap();
        assert_eq!(wire(&request)["method"], json!(method));
    }
}

/// The published `ClientRequest` union has one variant per [`requests::Method`], with a `params`
/// key exactly when the method takes params, of the method's params type.
#[test]
fn the_client_request_union_and_the_method_list_agree() {
    struct Expected(Vec<(String, Option<String>)>);
    impl requests::MethodVisitor for Expected {
        fn visit<M: requests::Method>(&mut self) {
            let params = (std::any::TypeId::of::<M::Params>()
                != std::any::TypeId::of::<requests::NoParams>())
            .then(|| <M::Params as schemars::JsonSchema>::schema_name().into_owned());
            self.0.push((M::NAME.to_owned(), params));
        }
    }
    let mut expected = Expected(Vec::new());
    requests::for_each_client_request(&mut expected);

    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<ClientRequest>()
        .to_value();
    let union: Vec<(String, Option<String>)> = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| {
            let properties = &variant["properties"];
            let method = properties["method"]["const"].as_str().unwrap().to_owned();
            let params = properties.get("params").map(|params| {
                let reference = params["allOf"][0]["$ref"].as_str().unwrap();
                reference.trim_start_matches("#/definitions/").to_owned()
            });
            (method, params)
        })
        .collect();
    assert_eq!(union, expected.0);
}

#[test]
fn barriers_are_initialize_and_the_credential_changing_methods() {
    struct Barriers(Vec<&'static str>);
    impl requests::MethodVisitor for Barriers {
        fn visit<M: requests::Method>(&mut self) {
            if M::BARRIER {
                self.0.push(M::NAME);
            }
        }
    }
    let mut barriers = Barriers(Vec::new());
    requests::for_each_client_request(&mut barriers);
    assert_eq!(
        barriers.0,
        [
            INITIALIZE,
            LOGIN_API_KEY,
            LOGIN_CHAT_GPT,
            CANCEL_LOGIN_CHAT_GPT,
            LOGOUT_CHAT_GPT,
            ACCOUNT_LOGIN_START,
            ACCOUNT_LOGIN_CANCEL,
            ACCOUNT_LOGOUT
        ]
    );
}

#[test]
fn no_params_accepts_any_object() {
    let decode = |value| serde_json::from_value::<requests::NoParams>(value);
    assert!(decode(json!({})).is_ok());
    assert!(decode(json!({"anything": [1, 2]})).is_ok());
}

#[test]
fn schema_generation_is_sorted_and_newline_terminated() {
    let files = schema::generate();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
    assert!(
        files
            .iter()
            .all(|(_, c)| c.ends_with('\n') && !c.contains('\r'))
    );
    for required in [
        "json/GetAuthStatusResponse.json",
        "json/v2/RefreshFailure.json",
        "typescript/index.ts",
        "typescript/v2/index.ts",
        "typescript/RequestId.ts",
    ] {
        assert!(
            files.iter().any(|(p, _)| p == required),
            "{required} missing"
        );
    }
    let ids = files
        .iter()
        .find(|(p, _)| p == "typescript/RequestId.ts")
        .unwrap();
    assert!(ids.1.contains("string | number") && !ids.1.contains("bigint"));
    assert_eq!(files, schema::generate());
}
