//! Request handlers: thin async fns, typed params in, a [`crate::reply::Reply`] out (the typed
//! result and the effects to run after the response), one family per file. They never see
//! bytes, ids or envelopes; errors are [`crate::RpcError`] values. `dispatch` registers each
//! against its `protocol::requests` method type.

pub(crate) mod account;
pub(crate) mod handshake;
pub(crate) mod login;
pub(crate) mod login_start;
pub(crate) mod status;
