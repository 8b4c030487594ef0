//! Request handlers: thin async fns, typed params in, typed result out, one family per file.
//! They never see bytes, ids or envelopes; errors are [`crate::RpcError`] values.

pub(crate) mod handshake;
