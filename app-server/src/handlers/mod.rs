//! Request handlers: thin async fns, typed params in, typed result out, one family per file.
//! They never see bytes, ids or envelopes; errors are [`crate::RpcError`] values.

pub(crate) mod account;
pub(crate) mod handshake;
pub(crate) mod login;
pub(crate) mod status;
