//! Wire types of the app-server JSON-RPC protocol (`shared/spec/PROTOCOL.md`): envelopes, error
//! codes, method names, and every params, result, notification and server-request type, with
//! JSON Schema (schemars) and TypeScript (ts-rs) derivations.
//!
//! This crate has no I/O and no logic: it does not read or write files, sockets or the
//! environment, and it decides nothing. `schema::generate` builds the schema files in memory;
//! the `gen_schema` binary writes them.
//!
//! Layout: `jsonrpc` (envelopes, ids, error codes), `v1` (handshake, v1 methods, `AuthMode`,
//! `PlanType`), `v2` (`account/*` methods and our extensions), `methods` (method names and the
//! method unions), `requests` (the `Method` trait, one type per client request and the one list
//! of them), `schema` (the generated file set).
#![warn(missing_docs)]

pub mod jsonrpc;
pub mod methods;
pub mod redacted;
pub mod requests;
pub mod schema;
pub mod v1;
pub mod v2;

pub use jsonrpc::*;
pub use methods::{
    ClientNotification, ClientRequest, ServerNotification, ServerNotificationEnvelope,
    ServerRequest,
};
pub use v1::*;
pub use v2::*;

#[cfg(test)]
mod tests;
