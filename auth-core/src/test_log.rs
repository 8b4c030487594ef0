//! Test-only capture of `tracing` events (auth-core has no tracing-subscriber): run a closure
//! with a capturing subscriber on this thread and look at what it logged.

use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One captured event.
#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    /// The `message` field.
    message: String,
    /// `LEVEL target field=value …`, every field included.
    text: String,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

#[derive(Default)]
struct Fields {
    message: String,
    text: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
        let _ = write!(self.text, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut fields = Fields {
            text: format!("{} {} ", meta.level(), meta.target()),
            ..Fields::default()
        };
        event.record(&mut fields);
        self.0.lock().push(Captured {
            level: *meta.level(),
            message: fields.message,
            text: fields.text,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<Captured>) {
    let capture = Capture::default();
    let result = tracing::subscriber::with_default(capture.clone(), f);
    let seen = capture.0.lock().clone();
    (result, seen)
}

/// Runs `f` and returns its result with each event's level and `message`.
pub(crate) fn events<T>(f: impl FnOnce() -> T) -> (T, Vec<(Level, String)>) {
    let (result, seen) = capture(f);
    (
        result,
        seen.into_iter().map(|e| (e.level, e.message)).collect(),
    )
}

/// Runs `f` and returns its result with each event as `LEVEL target field=value …`.
pub(crate) fn event_texts<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let (result, seen) = capture(f);
    (result, seen.into_iter().map(|e| e.text).collect())
}
