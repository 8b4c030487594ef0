//! Request handling of the fake issuer. Error answers never echo a token.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::ledger::Spend;
use super::{Endpoint, IssuedCode, Shared, State, tokens};
use crate::login::s256_challenge;
use crate::login::serve::{Request, Response};
use crate::token_endpoint::CLIENT_ID;

const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

pub(super) async fn handle(shared: Arc<Shared>, req: Request) -> Response {
    let post = req.method == hyper::Method::POST;
    let get = req.method == hyper::Method::GET;
    match req.path.as_str() {
        "/oauth/authorize" if get => authorize(&shared, &req),
        "/oauth/token" if post => token(&shared, &req).await,
        "/oauth/revoke" if post => revoke(&shared, &req),
        "/api/accounts/deviceauth/usercode" if post => user_code(&shared),
        "/api/accounts/deviceauth/token" if post => device_token(&shared, &req),
        "/codex/device" if get => Response::html(200, DEVICE_PAGE),
        _ => Response::json(404, &json!({"error": "not_found"})),
    }
}

fn count(state: &mut State, endpoint: Endpoint) {
    *state.counts.entry(endpoint).or_insert(0) += 1;
}

fn oauth_error(status: u16, code: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({"error": code, "error_description": description}),
    )
}

/// Auto-approves: 302 to `redirect_uri` with a new code and the same `state`.
fn authorize(shared: &Shared, req: &Request) -> Response {
    let params = req.query_params();
    let mut state = shared.state.lock();
    count(&mut state, Endpoint::Authorize);
    let get = |name: &str| params.get(name).filter(|v| !v.is_empty());
    let (Some(redirect_uri), Some(challenge), Some(oauth_state)) =
        (get("redirect_uri"), get("code_challenge"), get("state"))
    else {
        return oauth_error(
            400,
            "invalid_request",
            "missing redirect_uri, code_challenge or state",
        );
    };
    if get("response_type").map(String::as_str) != Some("code")
        || get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return oauth_error(
            400,
            "invalid_request",
            "unexpected response_type, client_id or method",
        );
    }
    let Ok(mut location) = url::Url::parse(redirect_uri) else {
        return oauth_error(400, "invalid_request", "redirect_uri is not a URL");
    };
    let code = tokens::random(24);
    state.codes.insert(
        code.clone(),
        IssuedCode {
            redirect_uri: redirect_uri.clone(),
            challenge: challenge.clone(),
        },
    );
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", oauth_state);
    Response::redirect(location.to_string())
}

/// The fields of a form or JSON body.
fn body_fields(req: &Request) -> HashMap<String, String> {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&req.body) {
        return map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect();
    }
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn is_json(req: &Request) -> bool {
    req.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

async fn token(shared: &Shared, req: &Request) -> Response {
    let fields = body_fields(req);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    match field("grant_type") {
        "authorization_code" if !is_json(req) => authorization_code(
            shared,
            field("code"),
            field("redirect_uri"),
            field("code_verifier"),
            field("client_id"),
        ),
        "refresh_token" if is_json(req) => {
            refresh(shared, field("refresh_token"), field("client_id")).await
        }
        TOKEN_EXCHANGE_GRANT if !is_json(req) => {
            count(&mut shared.state.lock(), Endpoint::TokenExchange);
            if field("requested_token") != "openai-api-key" || field("subject_token").is_empty() {
                return oauth_error(400, "invalid_request", "unsupported token exchange");
            }
            Response::json(
                200,
                &json!({"access_token": format!("sk-demo-{}", tokens::random(18))}),
            )
        }
        _ => oauth_error(
            400,
            "unsupported_grant_type",
            "unsupported grant or body encoding",
        ),
    }
}

fn authorization_code(
    shared: &Shared,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    client_id: &str,
) -> Response {
    let mut state = shared.state.lock();
    count(&mut state, Endpoint::AuthorizationCode);
    let Some(issued) = state.codes.remove(code) else {
        return oauth_error(400, "invalid_grant", "unknown or used authorization code");
    };
    if issued.redirect_uri != redirect_uri || client_id != CLIENT_ID {
        return oauth_error(400, "invalid_grant", "redirect_uri or client_id mismatch");
    }
    if s256_challenge(verifier) != issued.challenge {
        return oauth_error(
            400,
            "invalid_grant",
            "code_verifier does not match the challenge",
        );
    }
    Response::json(200, &issue_tokens(shared, &mut state))
}

fn issue_tokens(shared: &Shared, state: &mut State) -> Value {
    let refresh_token = tokens::refresh_token();
    state.refresh.issue(&refresh_token);
    json!({
        "id_token": tokens::id_token(&shared.url, &state.settings),
        "access_token": tokens::access_token(&shared.url, &state.settings),
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": state.settings.access_lifetime.num_seconds(),
    })
}

/// Rotating refresh: a live token works once; a spent one gets 401 `refresh_token_reused`.
async fn refresh(shared: &Shared, token: &str, client_id: &str) -> Response {
    let scripted = {
        let mut state = shared.state.lock();
        count(&mut state, Endpoint::Refresh);
        state.scripted.pop_front()
    };
    if let Some(scripted) = scripted {
        if let Some(delay) = scripted.delay {
            tokio::time::sleep(delay).await;
        }
        let resp = Response::json(scripted.status, &scripted.body);
        return match scripted.retry_after {
            Some(secs) => resp.header("retry-after", secs.to_string()),
            None => resp,
        };
    }
    let mut state = shared.state.lock();
    if client_id != CLIENT_ID {
        return oauth_error(401, "invalid_client", "unknown client_id");
    }
    let code = match state.refresh.spend(token) {
        Spend::Accepted => return Response::json(200, &issue_tokens(shared, &mut state)),
        Spend::Reused => "refresh_token_reused",
        Spend::Unknown => "refresh_token_invalidated",
    };
    Response::json(
        401,
        &json!({"error": {"code": code, "message": "refresh token rejected"}}),
    )
}

/// Revocation always succeeds; a revoked live refresh token stops working.
fn revoke(shared: &Shared, req: &Request) -> Response {
    let fields = body_fields(req);
    let mut state = shared.state.lock();
    count(&mut state, Endpoint::Revoke);
    if let Some(token) = fields.get("token") {
        state.refresh.spend(token);
    }
    Response::json(200, &json!({}))
}

fn user_code(shared: &Shared) -> Response {
    let mut state = shared.state.lock();
    count(&mut state, Endpoint::UserCode);
    if !state.settings.device_enabled {
        return Response::json(404, &json!({"error": "not_found"}));
    }
    let device_auth_id = format!("dev-{}", tokens::random(12));
    let user_code = format!("FAKE-{}", &tokens::random(3).to_uppercase());
    state
        .devices
        .insert(device_auth_id.clone(), (user_code.clone(), 0));
    let mut body = json!({"device_auth_id": device_auth_id, "user_code": user_code});
    if let (Some(interval), Some(map)) =
        (state.settings.device_interval.clone(), body.as_object_mut())
    {
        map.insert("interval".into(), json!(interval));
    }
    Response::json(200, &body)
}

/// 403 while pending; after the configured pending polls, a code bound to
/// `<url>/deviceauth/callback` with its PKCE pair.
fn device_token(shared: &Shared, req: &Request) -> Response {
    let fields = body_fields(req);
    let mut state = shared.state.lock();
    count(&mut state, Endpoint::DeviceToken);
    let pending_polls = state.settings.device_pending_polls;
    let id = fields.get("device_auth_id").cloned().unwrap_or_default();
    let Some((user_code, polls)) = state.devices.get_mut(&id) else {
        return oauth_error(400, "invalid_request", "unknown device_auth_id");
    };
    if fields.get("user_code") != Some(user_code) {
        return oauth_error(400, "invalid_request", "user_code mismatch");
    }
    *polls += 1;
    if *polls <= pending_polls {
        return Response::json(403, &json!({"error": "authorization_pending"}));
    }
    state.devices.remove(&id);
    let verifier = tokens::random(64);
    let challenge = s256_challenge(&verifier);
    let code = tokens::random(24);
    state.codes.insert(
        code.clone(),
        IssuedCode {
            redirect_uri: format!("{}/deviceauth/callback", shared.url),
            challenge: challenge.clone(),
        },
    );
    Response::json(
        200,
        &json!({"authorization_code": code, "code_challenge": challenge, "code_verifier": verifier}),
    )
}

const DEVICE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Device sign-in</title>\
    </head><body><h1>Fake issuer</h1><p>Device codes are approved automatically.</p></body></html>";
