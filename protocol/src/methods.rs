//! Method names and the method unions of PROTOCOL.md §8: `ClientRequest`, `ClientNotification`,
//! `ServerNotification`, `ServerRequest`.
//!
//! The unions describe whole messages (`{"method", "id"?, "params"}`) and are what the schema
//! publishes. A server decodes requests in two steps (envelope, then the params type of the
//! method's [`crate::requests::Method`]) so that an unknown method and bad params get different
//! error codes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::jsonrpc::RequestId;
use crate::v1::{
    AuthStatusChangeNotification, CancelLoginChatGptParams, GetAuthStatusParams, InitializeParams,
    LoginApiKeyParams, LoginChatGptCompleteNotification,
};
use crate::v2::{
    AccountLoginCompletedNotification, AccountUpdatedNotification, CancelLoginAccountParams,
    ChatgptAuthTokensRefreshParams, GetAccountParams, LoginAccountParams, ReportUnauthorizedParams,
};

/// `initialize` (client request, §3).
pub const INITIALIZE: &str = "initialize";
/// `getAuthStatus` (client request, v1, §4.1).
pub const GET_AUTH_STATUS: &str = "getAuthStatus";
/// `loginApiKey` (client request, v1, §4.2).
pub const LOGIN_API_KEY: &str = "loginApiKey";
/// `loginChatGpt` (client request, v1, §4.3).
pub const LOGIN_CHAT_GPT: &str = "loginChatGpt";
/// `cancelLoginChatGpt` (client request, v1, §4.4).
pub const CANCEL_LOGIN_CHAT_GPT: &str = "cancelLoginChatGpt";
/// `logoutChatGpt` (client request, v1, §4.5).
pub const LOGOUT_CHAT_GPT: &str = "logoutChatGpt";
/// `userInfo` (client request, v1, §4.6).
pub const USER_INFO: &str = "userInfo";
/// `getUserAgent` (client request, v1, §4.7).
pub const GET_USER_AGENT: &str = "getUserAgent";
/// `account/read` (client request, v2, §4.8).
pub const ACCOUNT_READ: &str = "account/read";
/// `account/login/start` (client request, v2, §4.9).
pub const ACCOUNT_LOGIN_START: &str = "account/login/start";
/// `account/login/cancel` (client request, v2, §4.10).
pub const ACCOUNT_LOGIN_CANCEL: &str = "account/login/cancel";
/// `account/logout` (client request, v2, §4.11).
pub const ACCOUNT_LOGOUT: &str = "account/logout";
/// `account/reportUnauthorized` (client request, extension, §6.2).
pub const ACCOUNT_REPORT_UNAUTHORIZED: &str = "account/reportUnauthorized";

/// `initialized` (client notification, §3).
pub const INITIALIZED: &str = "initialized";

/// `authStatusChange` (server notification, v1).
pub const AUTH_STATUS_CHANGE: &str = "authStatusChange";
/// `loginChatGptComplete` (server notification, v1).
pub const LOGIN_CHAT_GPT_COMPLETE: &str = "loginChatGptComplete";
/// `account/updated` (server notification, v2).
pub const ACCOUNT_UPDATED: &str = "account/updated";
/// `account/login/completed` (server notification, v2).
pub const ACCOUNT_LOGIN_COMPLETED: &str = "account/login/completed";

/// `account/chatgptAuthTokens/refresh` (server request, §4.15).
pub const ACCOUNT_CHATGPT_AUTH_TOKENS_REFRESH: &str = "account/chatgptAuthTokens/refresh";

/// A request from the client, tagged by `method`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "method")]
pub enum ClientRequest {
    /// `initialize`.
    #[serde(rename = "initialize")]
    Initialize {
        /// Request id.
        id: RequestId,
        /// Params.
        params: InitializeParams,
    },
    /// `getAuthStatus`.
    #[serde(rename = "getAuthStatus")]
    GetAuthStatus {
        /// Request id.
        id: RequestId,
        /// Params (absent or null means `{}`).
        #[serde(default)]
        params: GetAuthStatusParams,
    },
    /// `loginApiKey`.
    #[serde(rename = "loginApiKey")]
    LoginApiKey {
        /// Request id.
        id: RequestId,
        /// Params.
        params: LoginApiKeyParams,
    },
    /// `loginChatGpt` (no params).
    #[serde(rename = "loginChatGpt")]
    LoginChatGpt {
        /// Request id.
        id: RequestId,
    },
    /// `cancelLoginChatGpt`.
    #[serde(rename = "cancelLoginChatGpt")]
    CancelLoginChatGpt {
        /// Request id.
        id: RequestId,
        /// Params.
        params: CancelLoginChatGptParams,
    },
    /// `logoutChatGpt` (no params).
    #[serde(rename = "logoutChatGpt")]
    LogoutChatGpt {
        /// Request id.
        id: RequestId,
    },
    /// `userInfo` (no params).
    #[serde(rename = "userInfo")]
    UserInfo {
        /// Request id.
        id: RequestId,
    },
    /// `getUserAgent` (no params).
    #[serde(rename = "getUserAgent")]
    GetUserAgent {
        /// Request id.
        id: RequestId,
    },
    /// `account/read`.
    #[serde(rename = "account/read")]
    GetAccount {
        /// Request id.
        id: RequestId,
        /// Params (absent or null means `{}`).
        #[serde(default)]
        params: GetAccountParams,
    },
    /// `account/login/start`.
    #[serde(rename = "account/login/start")]
    LoginAccount {
        /// Request id.
        id: RequestId,
        /// Params.
        params: LoginAccountParams,
    },
    /// `account/login/cancel`.
    #[serde(rename = "account/login/cancel")]
    CancelLoginAccount {
        /// Request id.
        id: RequestId,
        /// Params.
        params: CancelLoginAccountParams,
    },
    /// `account/logout` (no params).
    #[serde(rename = "account/logout")]
    LogoutAccount {
        /// Request id.
        id: RequestId,
    },
    /// `account/reportUnauthorized` (extension).
    #[serde(rename = "account/reportUnauthorized")]
    ReportUnauthorized {
        /// Request id.
        id: RequestId,
        /// Params (absent or null means `{}`).
        #[serde(default)]
        params: ReportUnauthorizedParams,
    },
}

/// A notification from the client, tagged by `method`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "method")]
pub enum ClientNotification {
    /// `initialized`: optional, only logged.
    #[serde(rename = "initialized")]
    Initialized,
}

/// A notification from the server: `{"method", "params"}`, broadcast to initialized connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "method", content = "params")]
pub enum ServerNotification {
    /// `authStatusChange` (v1).
    #[serde(rename = "authStatusChange")]
    AuthStatusChange(AuthStatusChangeNotification),
    /// `loginChatGptComplete` (v1).
    #[serde(rename = "loginChatGptComplete")]
    LoginChatGptComplete(LoginChatGptCompleteNotification),
    /// `account/updated` (v2).
    #[serde(rename = "account/updated")]
    AccountUpdated(AccountUpdatedNotification),
    /// `account/login/completed` (v2).
    #[serde(rename = "account/login/completed")]
    AccountLoginCompleted(AccountLoginCompletedNotification),
}

/// A server notification as it is sent: the notification and `emittedAtMs`, the Unix time in
/// milliseconds at which the server emitted it, before fanning it out to the connections (Codex
/// 0.171 `ServerNotificationEnvelope`; always present).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerNotificationEnvelope {
    /// `method` and `params`.
    #[serde(flatten)]
    pub notification: ServerNotification,
    /// When the server emitted it (milliseconds since the Unix epoch).
    pub emitted_at_ms: u64,
}

/// A request from the server to a client, tagged by `method`; ids come from one server-wide
/// integer counter starting at 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "method")]
pub enum ServerRequest {
    /// `account/chatgptAuthTokens/refresh`.
    #[serde(rename = "account/chatgptAuthTokens/refresh")]
    ChatgptAuthTokensRefresh {
        /// Request id.
        id: RequestId,
        /// Params.
        params: ChatgptAuthTokensRefreshParams,
    },
}
