//! Flow tests over real loopback HTTP against the fake issuer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Shared helpers: options, recording persist callbacks, a browser-like client.
mod support;

/// Browser login: callback routes, state checks, exchange, workspace check, save, cancel, timeout.
mod browser;

/// Callback port rules: the cancel request, retries, fallback, loopback only.
mod ports;

/// Device-code login: user code, polling, exchange, errors.
mod device;

/// Issue 12 items 2, 16, 17 and Codex 0.171 parity: aborted callbacks, slowloris, `/cancel`
/// with the state, the onboarding suffix and the hosted success page.
mod hardening;
