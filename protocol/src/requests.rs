//! The client requests as types: the [`Method`] trait, one zero-sized type per request method
//! (PROTOCOL.md §3, §4, §6.2), and [`for_each_client_request`], the one list of them that the
//! schema, the server's dispatch table and its tests are all fed from.
//!
//! Adding a request method: its params and result types (`v1`/`v2`), its name constant and its
//! [`crate::ClientRequest`] variant (`methods`, the published union; a test checks it against
//! this list), one `request!` here and one line in [`for_each_client_request`]. The schema then
//! publishes its types, and the server's table test fails until it has a handler.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use ts_rs::TS;

use crate::methods::*;
use crate::v1::*;
use crate::v2::*;

/// One client request method: its wire name, whether it is a barrier, its params and result.
pub trait Method: 'static {
    /// The `method` string on the wire.
    const NAME: &'static str;
    /// Whether later requests of the connection start only after this one was answered
    /// (PROTOCOL.md §1 "Ordering guarantee": `initialize` and every request that changes
    /// credentials or the active login).
    const BARRIER: bool;
    /// The decoded `params` (missing or `null` params are decoded from `{}`).
    type Params: DeserializeOwned + JsonSchema + TS + Send + 'static;
    /// The `result` of a successful answer.
    type Result: Serialize + JsonSchema + TS + Send + 'static;
}

/// The params of a method that takes none: accepts any object (omitted and `null` are `{}`),
/// ignoring its keys (PROTOCOL.md §4 "No-params methods"). Not published in the schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, JsonSchema, TS)]
pub struct NoParams {}

/// Receives each client request method type in turn (see [`for_each_client_request`]).
pub trait MethodVisitor {
    /// Called once per client request method.
    fn visit<M: Method>(&mut self);
}

/// Calls `visitor` with every client request method, in PROTOCOL.md order.
pub fn for_each_client_request<V: MethodVisitor>(visitor: &mut V) {
    visitor.visit::<Initialize>();
    visitor.visit::<GetAuthStatus>();
    visitor.visit::<LoginApiKey>();
    visitor.visit::<LoginChatGpt>();
    visitor.visit::<CancelLoginChatGpt>();
    visitor.visit::<LogoutChatGpt>();
    visitor.visit::<UserInfo>();
    visitor.visit::<GetUserAgent>();
    visitor.visit::<GetAccount>();
    visitor.visit::<LoginAccount>();
    visitor.visit::<CancelLoginAccount>();
    visitor.visit::<LogoutAccount>();
    visitor.visit::<ReportUnauthorized>();
}

/// The name of every client request method, in PROTOCOL.md order.
pub fn client_request_names() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl MethodVisitor for Names {
        fn visit<M: Method>(&mut self) {
            self.0.push(M::NAME);
        }
    }
    let mut names = Names(Vec::new());
    for_each_client_request(&mut names);
    names.0
}

macro_rules! request {
    ($(#[$doc:meta])* $ty:ident = $name:ident, $params:ty => $result:ty, barrier: $barrier:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $ty;

        impl Method for $ty {
            const NAME: &'static str = $name;
            const BARRIER: bool = $barrier;
            type Params = $params;
            type Result = $result;
        }
    };
}

request!(
    /// `initialize` (§3).
    Initialize = INITIALIZE, InitializeParams => InitializeResponse, barrier: true
);
request!(
    /// `getAuthStatus` (v1, §4.1).
    GetAuthStatus = GET_AUTH_STATUS, GetAuthStatusParams => GetAuthStatusResponse, barrier: false
);
request!(
    /// `loginApiKey` (v1, §4.2).
    LoginApiKey = LOGIN_API_KEY, LoginApiKeyParams => LoginApiKeyResponse, barrier: true
);
request!(
    /// `loginChatGpt` (v1, §4.3).
    LoginChatGpt = LOGIN_CHAT_GPT, NoParams => LoginChatGptResponse, barrier: true
);
request!(
    /// `cancelLoginChatGpt` (v1, §4.4).
    CancelLoginChatGpt = CANCEL_LOGIN_CHAT_GPT, CancelLoginChatGptParams => CancelLoginChatGptResponse,
    barrier: true
);
request!(
    /// `logoutChatGpt` (v1, §4.5).
    LogoutChatGpt = LOGOUT_CHAT_GPT, NoParams => LogoutChatGptResponse, barrier: true
);
request!(
    /// `userInfo` (v1, §4.6).
    UserInfo = USER_INFO, NoParams => UserInfoResponse, barrier: false
);
request!(
    /// `getUserAgent` (v1, §4.7).
    GetUserAgent = GET_USER_AGENT, NoParams => GetUserAgentResponse, barrier: false
);
request!(
    /// `account/read` (v2, §4.8).
    GetAccount = ACCOUNT_READ, GetAccountParams => GetAccountResponse, barrier: false
);
request!(
    /// `account/login/start` (v2, §4.9).
    LoginAccount = ACCOUNT_LOGIN_START, LoginAccountParams => LoginAccountResponse, barrier: true
);
request!(
    /// `account/login/cancel` (v2, §4.10).
    CancelLoginAccount = ACCOUNT_LOGIN_CANCEL, CancelLoginAccountParams => CancelLoginAccountResponse,
    barrier: true
);
request!(
    /// `account/logout` (v2, §4.11).
    LogoutAccount = ACCOUNT_LOGOUT, NoParams => LogoutAccountResponse, barrier: true
);
request!(
    /// `account/reportUnauthorized` (extension, §6.2).
    ReportUnauthorized = ACCOUNT_REPORT_UNAUTHORIZED, ReportUnauthorizedParams => ReportUnauthorizedResponse,
    barrier: false
);
