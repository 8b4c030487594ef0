//! Manager behaviours of AUTH.md §12 against a counting mock token endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod backoff;
mod blocking;
mod changes;
mod concurrency;
mod failures;
mod hardening;
mod recovery;
mod redis;
mod seam;
mod stores;
