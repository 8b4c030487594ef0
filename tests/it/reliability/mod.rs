//! Reliability suites (issue 7): properties of the decoder and dispatcher, crash consistency of
//! credential writes under SIGKILL, a multi-process rotation soak, and secret hygiene of trace
//! logs. Default sizes keep `cargo test` quick; `RELIABILITY_FULL=1` runs the heavy sizes
//! (200 kills, 50 rotations, 1024 property cases).

mod crash;
mod hygiene;
mod props;
mod soak;
