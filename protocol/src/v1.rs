//! The handshake and the v1 auth methods (PROTOCOL.md §3, §4.1-§4.7, §4.13), plus the shared
//! `AuthMode` and `PlanType` enums. Schema files land in `schema/*/` (not `v2/`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::redacted::Redacted;
use crate::v2::RefreshFailure;

/// How the current credentials authenticate. Note the all-lower-case `"apikey"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
pub enum AuthMode {
    /// An OpenAI API key.
    #[serde(rename = "apikey")]
    ApiKey,
    /// ChatGPT tokens obtained by a browser or device-code login.
    #[serde(rename = "chatgpt")]
    Chatgpt,
    /// ChatGPT tokens supplied by the client (`account/login/start` `chatgptAuthTokens`).
    #[serde(rename = "chatgptAuthTokens")]
    ChatgptAuthTokens,
}

/// The ChatGPT plan of the account: every plan of Codex 0.171. Unknown strings deserialize as
/// `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum PlanType {
    /// `"free"`.
    Free,
    /// `"go"`.
    Go,
    /// `"plus"`.
    Plus,
    /// `"pro"`.
    Pro,
    /// `"prolite"`.
    Prolite,
    /// `"promax"`.
    Promax,
    /// `"team"`.
    Team,
    /// `"self_serve_business_prolite"`.
    SelfServeBusinessProlite,
    /// `"self_serve_business_usage_based"`.
    SelfServeBusinessUsageBased,
    /// `"business"`.
    Business,
    /// `"ent26"`.
    Ent26,
    /// `"enterprise_cbp_automation"`.
    EnterpriseCbpAutomation,
    /// `"enterprise_cbp_usage_based"`.
    EnterpriseCbpUsageBased,
    /// `"enterprise"`.
    Enterprise,
    /// `"edu"`.
    Edu,
    /// `"edu_plus"`.
    EduPlus,
    /// `"edu_pro"`.
    EduPro,
    /// `"sci"`.
    Sci,
    /// `"sci_plus"`.
    SciPlus,
    /// `"unknown"`, and any plan string this version does not know.
    #[serde(other)]
    Unknown,
}

/// Who the client is (`initialize` params).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// Client name; must be a valid HTTP header value. Becomes the user-agent originator.
    pub name: String,
    /// Human-readable client title.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub title: Option<String>,
    /// Client version.
    pub version: String,
}

/// Capabilities the client declares in `initialize`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct InitializeCapabilities {
    /// Accepted for compatibility; has no effect (default false).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub experimental_api: Option<bool>,
    /// Exact notification method names never sent to this connection.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub opt_out_notification_methods: Option<Vec<String>>,
}

/// Params of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// Who the client is.
    pub client_info: ClientInfo,
    /// What the client supports.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub capabilities: Option<InitializeCapabilities>,
}

/// Result of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResponse {
    /// `<originator>/<version> (<os> <os version>; <arch>) <terminal> (<name>; <version>)`.
    pub user_agent: String,
    /// `"unix"` or `"windows"`.
    pub platform_family: String,
    /// `"macos"`, `"linux"`, `"windows"`, or Rust's `std::env::consts::OS`.
    pub platform_os: String,
    /// Absolute canonical path of the Codex home directory.
    pub codex_home: String,
}

/// Params of `getAuthStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct GetAuthStatusParams {
    /// Return the bearer in `authToken` (default false).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_token: Option<bool>,
    /// Ask for a refresh before answering (default false).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub refresh_token: Option<bool>,
    /// Extension (§6.1): add the `refreshFailure` key to the result (default false).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_refresh_failure: Option<bool>,
}

/// Result of `getAuthStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct GetAuthStatusResponse {
    /// The mode in effect; null when signed out, not required, or unusable.
    pub auth_method: Option<AuthMode>,
    /// The API key or access token; only with `includeToken` and usable credentials.
    #[ts(as = "Option<String>")]
    pub auth_token: Option<Redacted<String>>,
    /// Whether the configured provider needs OpenAI auth.
    pub requires_openai_auth: bool,
    /// Extension (§6.1): present only when `includeRefreshFailure` was true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub refresh_failure: Option<Option<RefreshFailure>>,
}

/// Params of `loginApiKey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct LoginApiKeyParams {
    /// The API key (trimmed; must not be empty).
    #[ts(as = "String")]
    pub api_key: Redacted<String>,
}

/// Result of `loginApiKey`: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct LoginApiKeyResponse {}

/// Result of `loginChatGpt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct LoginChatGptResponse {
    /// The login's id (UUID v4, lower case).
    pub login_id: Uuid,
    /// The URL the client opens in a browser.
    pub auth_url: String,
}

/// Params of `cancelLoginChatGpt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct CancelLoginChatGptParams {
    /// The id of the login to cancel; must be a UUID.
    pub login_id: Uuid,
}

/// Result of `cancelLoginChatGpt`: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct CancelLoginChatGptResponse {}

/// Result of `logoutChatGpt`: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct LogoutChatGptResponse {}

/// Result of `userInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoResponse {
    /// The email claim of the current ChatGPT credentials, else null.
    pub alleged_user_email: Option<String>,
}

/// Result of `getUserAgent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct GetUserAgentResponse {
    /// The same string as this connection's `initialize` result.
    pub user_agent: String,
}

/// Notification `authStatusChange` (v1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthStatusChangeNotification {
    /// The mode now in effect, or null.
    pub auth_method: Option<AuthMode>,
}

/// Notification `loginChatGptComplete` (v1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct LoginChatGptCompleteNotification {
    /// The login that finished.
    pub login_id: Uuid,
    /// Whether credentials were stored.
    pub success: bool,
    /// Why it failed, or null.
    pub error: Option<String>,
}
