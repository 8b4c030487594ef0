//! [`Redacted`]: the field type of every wire value that can carry a secret (API keys, access
//! tokens) or an opaque payload that may hold one. It is the value itself on the wire and in the
//! schemas, and `[REDACTED]` in `Debug` output, so the wire types derive `Debug` and a log line
//! or a panic message can never leak a credential.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// A value printed as `[REDACTED]` by `Debug`; serialized, deserialized and described (JSON
/// Schema) exactly as `T`. TypeScript: fields of this type carry `#[ts(as = "T")]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted<T>(pub T);

impl<T> Redacted<T> {
    /// The value, for the one place that uses it.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<T> Deref for Redacted<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(value: T) -> Self {
        Redacted(value)
    }
}

impl From<&str> for Redacted<String> {
    fn from(value: &str) -> Self {
        Redacted(value.to_owned())
    }
}

impl<T: JsonSchema> JsonSchema for Redacted<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::jsonrpc::{JSONRPCRequest, JSONRPCResponse};
    use crate::v1::{GetAuthStatusResponse, LoginApiKeyParams};
    use crate::v2::LoginAccountParams;
    use crate::{RequestId, v2};

    #[test]
    fn debug_never_prints_a_secret() {
        let secret = "sk-super-secret";
        let outputs = [
            format!(
                "{:?}",
                LoginApiKeyParams {
                    api_key: secret.into()
                }
            ),
            format!(
                "{:?}",
                LoginAccountParams::ChatgptAuthTokens {
                    access_token: secret.into(),
                    chatgpt_account_id: "acct".into(),
                    chatgpt_plan_type: None
                }
            ),
            format!(
                "{:?}",
                GetAuthStatusResponse {
                    auth_method: None,
                    auth_token: Some(secret.into()),
                    requires_openai_auth: true,
                    refresh_failure: None
                }
            ),
            format!(
                "{:?}",
                v2::ReportUnauthorizedParams {
                    access_token: Some(secret.into()),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                JSONRPCRequest {
                    id: RequestId::Integer(1),
                    method: "loginApiKey".into(),
                    params: Some(json!({"apiKey": secret}).into())
                }
            ),
            format!(
                "{:?}",
                JSONRPCResponse {
                    id: RequestId::Integer(1),
                    result: json!({"authToken": secret}).into()
                }
            ),
        ];
        for output in outputs {
            assert!(!output.contains(secret), "{output}");
            assert!(output.contains("[REDACTED]"), "{output}");
        }
    }

    #[test]
    fn the_wire_sees_the_value() {
        let params: LoginApiKeyParams =
            serde_json::from_value(json!({"apiKey": "sk-abc"})).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(*params.api_key, "sk-abc");
        assert_eq!(
            serde_json::to_value(&params).unwrap_or_else(|e| panic!("{e}")),
            json!({"apiKey": "sk-abc"})
        );
    }
}
