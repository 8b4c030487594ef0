//! The client requests as types: the [`Method`] trait, one zero-sized type per request method
//! (PROTOCOL.md §3, §4, §6.2), and the one list of them (`client_requests!` below), which
//! yields [`for_each_client_request`] (the schema and tests read it) and
//! [`ClientRequestHandlers`] (the server's table: one handler per method, checked by the
//! compiler).
//!
//! Adding a request method: its params and result types (`v1`/`v2`), its name constant and its
//! [`crate::ClientRequest`] variant (`methods`, the published union; a test checks it against
//! this list), and one entry in `client_requests!` below. The schema then publishes its types,
//! and the server does not compile until its table has a handler for it.

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

/// Where a server registers its handlers, one per method, through [`ClientRequestHandlers`].
pub trait Registry {
    /// What the server registers for method `M`.
    type Handler<M: Method>;
    /// Registers `handler` for `M`.
    fn register<M: Method>(&mut self, handler: Self::Handler<M>);
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

/// Defines each client request type, its [`Method`] impl and [`for_each_client_request`], in
/// the order given.
macro_rules! client_requests {
    ($($(#[$doc:meta])* $field:ident: $ty:ident = $name:ident, $params:ty => $result:ty, barrier: $barrier:expr;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $ty;

            impl Method for $ty {
                const NAME: &'static str = $name;
                const BARRIER: bool = $barrier;
                type Params = $params;
                type Result = $result;
            }
        )*

        /// Calls `visitor` with every client request method, in PROTOCOL.md order.
        pub fn for_each_client_request<V: MethodVisitor>(visitor: &mut V) {
            $(visitor.visit::<$ty>();)*
        }

        /// One handler per client request method, written as a struct literal: a server whose
        /// table lacks a method, or has one twice, does not compile.
        pub struct ClientRequestHandlers<R: Registry> {
            $(
                #[doc = concat!("The handler of `", stringify!($ty), "`.")]
                pub $field: R::Handler<$ty>,
            )*
        }

        impl<R: Registry> ClientRequestHandlers<R> {
            /// Registers every handler with `registry`, in PROTOCOL.md order.
            pub fn register_all(self, registry: &mut R) {
                $(registry.register::<$ty>(self.$field);)*
            }
        }
    };
}

client_requests! {
    /// `initialize` (§3).
    initialize: Initialize = INITIALIZE, InitializeParams => InitializeResponse, barrier: true;
    /// `getAuthStatus` (v1, §4.1).
    get_auth_status: GetAuthStatus = GET_AUTH_STATUS, GetAuthStatusParams => GetAuthStatusResponse, barrier: false;
    /// `loginApiKey` (v1, §4.2).
    login_api_key: LoginApiKey = LOGIN_API_KEY, LoginApiKeyParams => LoginApiKeyResponse, barrier: true;
    /// `loginChatGpt` (v1, §4.3).
    login_chat_gpt: LoginChatGpt = LOGIN_CHAT_GPT, NoParams => LoginChatGptResponse, barrier: true;
    /// `cancelLoginChatGpt` (v1, §4.4).
    cancel_login_chat_gpt: CancelLoginChatGpt = CANCEL_LOGIN_CHAT_GPT, CancelLoginChatGptParams => CancelLoginChatGptResponse,
    barrier: true;
    /// `logoutChatGpt` (v1, §4.5).
    logout_chat_gpt: LogoutChatGpt = LOGOUT_CHAT_GPT, NoParams => LogoutChatGptResponse, barrier: true;
    /// `userInfo` (v1, §4.6).
    user_info: UserInfo = USER_INFO, NoParams => UserInfoResponse, barrier: false;
    /// `getUserAgent` (v1, §4.7).
    get_user_agent: GetUserAgent = GET_USER_AGENT, NoParams => GetUserAgentResponse, barrier: false;
    /// `account/read` (v2, §4.8).
    account_read: GetAccount = ACCOUNT_READ, GetAccountParams => GetAccountResponse, barrier: false;
    /// `account/login/start` (v2, §4.9).
    account_login_start: LoginAccount = ACCOUNT_LOGIN_START, LoginAccountParams => LoginAccountResponse, barrier: true;
    /// `account/login/cancel` (v2, §4.10).
    account_login_cancel: CancelLoginAccount = ACCOUNT_LOGIN_CANCEL, CancelLoginAccountParams => CancelLoginAccountResponse,
    barrier: true;
    /// `account/logout` (v2, §4.11).
    account_logout: LogoutAccount = ACCOUNT_LOGOUT, NoParams => LogoutAccountResponse, barrier: true;
    /// `account/reportUnauthorized` (extension, §6.2).
    account_report_unauthorized: ReportUnauthorized = ACCOUNT_REPORT_UNAUTHORIZED, ReportUnauthorizedParams => ReportUnauthorizedResponse,
    barrier: false;
}
