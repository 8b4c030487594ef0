//! The v2 `account/*` methods (PROTOCOL.md §4.8-§4.11, §4.13, §4.15) and our extensions
//! (§6.1 `RefreshFailure`, §6.2 `account/reportUnauthorized`). Schema files land in `v2/`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::redacted::Redacted;
use crate::v1::{AuthMode, PlanType};

/// The signed-in account, tagged by `type` (note the camel-case `"apiKey"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[ts(export_to = "v2/")]
pub enum Account {
    /// An API key.
    ApiKey {},
    /// ChatGPT credentials (stored or supplied by the client).
    Chatgpt {
        /// The account email, if known.
        email: Option<String>,
        /// The plan; `"unknown"` when not known.
        plan_type: PlanType,
        /// Display name of the selected ChatGPT workspace; always sent, null when unknown (we
        /// do not call the ChatGPT backend that knows it).
        #[serde(default)]
        workspace_name: Option<String>,
    },
}

/// Params of `account/read`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct GetAccountParams {
    /// Ask for a refresh before answering (default false).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub refresh_token: Option<bool>,
    /// Extension (§6.1): add the `refreshFailure` key to the result (default false).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_refresh_failure: Option<bool>,
}

/// Result of `account/read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct GetAccountResponse {
    /// The account, or null (signed out, not required, dead or unusable credentials).
    pub account: Option<Account>,
    /// The id token's ChatGPT user id (`chatgpt_user_id`, else `user_id`); always sent, null
    /// when unknown (API key, signed out).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Whether the configured provider needs OpenAI auth.
    pub requires_openai_auth: bool,
    /// Codex's backend routing of the workspace; always sent, always null here (Codex learns
    /// it from a ChatGPT backend call outside the auth surface).
    #[serde(default)]
    pub workspace_routing: Option<WorkspaceRouting>,
    /// Extension (§6.1): present only when `includeRefreshFailure` was true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub refresh_failure: Option<Option<RefreshFailure>>,
}

/// Params of `account/login/start`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[ts(export_to = "v2/")]
pub enum LoginAccountParams {
    /// Store an API key.
    ApiKey {
        /// The API key (must not be empty).
        #[ts(as = "String")]
        api_key: Redacted<String>,
    },
    /// Start a browser login.
    Chatgpt {
        /// Codex 0.171: end the login on the hosted success page (the callback redirects there)
        /// instead of the local `/success` page.
        #[serde(default)]
        #[ts(optional)]
        use_hosted_login_success_page: Option<bool>,
        /// The brand of the hosted success page (default `codex`).
        #[serde(default)]
        #[ts(optional = nullable)]
        app_brand: Option<LoginAppBrand>,
        /// Codex 0.171's streamlined-login flag: accepted and ignored.
        #[serde(default)]
        #[ts(optional)]
        codex_streamlined_login: Option<bool>,
    },
    /// Start a device-code login.
    ChatgptDeviceCode,
    /// Hold client-supplied ChatGPT tokens in memory.
    ChatgptAuthTokens {
        /// The access token (a JWT).
        #[ts(as = "String")]
        access_token: Redacted<String>,
        /// The ChatGPT account (workspace) id.
        chatgpt_account_id: String,
        /// The plan, if the client knows it.
        #[serde(default)]
        #[ts(optional = nullable)]
        chatgpt_plan_type: Option<String>,
    },
}

/// The brand of the hosted login success page (`appBrand`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "v2/")]
pub enum LoginAppBrand {
    /// The Codex page.
    Codex,
    /// The ChatGPT page.
    Chatgpt,
}

/// Result of `account/login/start`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[ts(export_to = "v2/")]
pub enum LoginAccountResponse {
    /// The key was stored.
    ApiKey {},
    /// The browser login started; the client opens `authUrl`.
    Chatgpt {
        /// The login's id.
        login_id: String,
        /// The URL to open.
        auth_url: String,
    },
    /// The device-code login started; the user enters `userCode` at `verificationUrl`.
    ChatgptDeviceCode {
        /// The login's id.
        login_id: String,
        /// Where the user enters the code.
        verification_url: String,
        /// The code to enter.
        user_code: String,
    },
    /// The tokens are in effect.
    ChatgptAuthTokens {},
}

/// Params of `account/login/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct CancelLoginAccountParams {
    /// The login to cancel (a UUID, case-insensitive).
    pub login_id: String,
}

/// Outcome of `account/login/cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub enum CancelLoginAccountStatus {
    /// The login was active and is now cancelled.
    Canceled,
    /// No active login has that id.
    NotFound,
}

/// Result of `account/login/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct CancelLoginAccountResponse {
    /// What happened.
    pub status: CancelLoginAccountStatus,
}

/// Result of `account/logout`: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export_to = "v2/")]
pub struct LogoutAccountResponse {}

/// Notification `account/updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct AccountUpdatedNotification {
    /// The mode now in effect, or null.
    pub auth_mode: Option<AuthMode>,
    /// The plan, or null (API key, signed out).
    pub plan_type: Option<PlanType>,
    /// Why it was sent beyond a credential change; always sent, null here (Codex sets it when
    /// its workspace routing discovery completes, which we do not run).
    #[serde(default)]
    pub reason: Option<AccountUpdateReason>,
}

/// `account/updated` `reason` values of Codex 0.171.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub enum AccountUpdateReason {
    /// `"workspaceRoutingReady"`.
    WorkspaceRoutingReady,
    /// `"unknown"`.
    Unknown,
}

/// `account/read` `workspaceRouting` (Codex 0.171): where the backend routes the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct WorkspaceRouting {
    /// The workspace.
    pub chatgpt_account_id: String,
    /// The backend origin serving it.
    pub backend_origin: String,
    /// The routing policy.
    pub account_routing_override: AccountRoutingOverride,
}

/// Backend routing policy (`WorkspaceRouting.accountRoutingOverride`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export_to = "v2/")]
pub enum AccountRoutingOverride {
    /// `"NO_CONSTRAINT"`.
    #[serde(rename = "NO_CONSTRAINT")]
    NoConstraint,
    /// `"us"`.
    #[serde(rename = "us")]
    Us,
    /// `"us_cr"`.
    #[serde(rename = "us_cr")]
    UsCr,
}

/// Notification `account/login/completed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct AccountLoginCompletedNotification {
    /// The login that finished; null for `apiKey` and `chatgptAuthTokens` logins.
    pub login_id: Option<String>,
    /// Whether credentials are now in effect.
    pub success: bool,
    /// Why it failed, or null.
    pub error: Option<String>,
    /// The onboarding entry point a hosted-success-page browser login carried in its state;
    /// always sent, null otherwise.
    #[serde(default)]
    pub onboarding_entrypoint: Option<DesktopOnboardingEntrypoint>,
}

/// `account/login/completed` `onboardingEntrypoint` values of Codex 0.171.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "v2/")]
pub enum DesktopOnboardingEntrypoint {
    /// `"life_sciences"`.
    LifeSciences,
}

/// Why the server asks the client for new external tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub enum ChatgptAuthTokensRefreshReason {
    /// A client reported a 401 for the current external access token.
    Unauthorized,
}

/// Params of the server request `account/chatgptAuthTokens/refresh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct ChatgptAuthTokensRefreshParams {
    /// Why new tokens are needed.
    pub reason: ChatgptAuthTokensRefreshReason,
    /// The current `chatgptAccountId`, if any.
    pub previous_account_id: Option<String>,
}

/// The client's result for `account/chatgptAuthTokens/refresh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct ChatgptAuthTokensRefreshResponse {
    /// The new access token (a JWT).
    #[ts(as = "String")]
    pub access_token: Redacted<String>,
    /// The ChatGPT account (workspace) id.
    pub chatgpt_account_id: String,
    /// The plan, if the client knows it.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub chatgpt_plan_type: Option<String>,
}

/// Why the last refresh of the current credentials failed (extension, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub enum RefreshFailureReason {
    /// The refresh token expired.
    Expired,
    /// The refresh token was already used.
    Exhausted,
    /// The refresh token was revoked.
    Revoked,
    /// Anything else, including every transient failure.
    Other,
}

/// The refresh failure recorded for the current credentials (extension, §6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct RefreshFailure {
    /// The failure's reason.
    pub reason: RefreshFailureReason,
    /// The user-facing text (permanent) or `Failed to refresh token: …` (transient).
    pub message: String,
    /// False for a recorded permanent failure.
    pub transient: bool,
    /// Transient: ms until the next attempt is allowed (0 if allowed now); permanent: null.
    pub retry_after_ms: Option<u64>,
}

/// Params of `account/reportUnauthorized` (extension, §6.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct ReportUnauthorizedParams {
    /// The bearer the backend rejected; default: the current one.
    #[serde(default)]
    #[ts(optional = nullable, as = "Option<String>")]
    pub access_token: Option<Redacted<String>>,
    /// Return the bearer in `authToken` (default **true**).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_token: Option<bool>,
    /// Add the `refreshFailure` key to the result (default false).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_refresh_failure: Option<bool>,
}

/// Result of `account/reportUnauthorized`: the `getAuthStatus` shape plus `refreshed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "v2/")]
pub struct ReportUnauthorizedResponse {
    /// The mode in effect, or null.
    pub auth_method: Option<AuthMode>,
    /// The bearer (with `includeToken`), or null.
    #[ts(as = "Option<String>")]
    pub auth_token: Option<Redacted<String>>,
    /// Whether the configured provider needs OpenAI auth.
    pub requires_openai_auth: bool,
    /// Present only when `includeRefreshFailure` was true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub refresh_failure: Option<Option<RefreshFailure>>,
    /// True when this report ended in a successful refresh.
    pub refreshed: bool,
}
