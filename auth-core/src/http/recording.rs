//! A closure client for tests that records every request it is handed (tests only).

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{HttpError, HttpRequest, HttpResponse, SharedHttpClient};

/// The requests a [`recording`] client saw, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Requests(Arc<Mutex<Vec<HttpRequest>>>);

impl Requests {
    /// How many requests were sent.
    pub(crate) fn count(&self) -> usize {
        self.0.lock().len()
    }

    /// Every request so far.
    pub(crate) fn all(&self) -> Vec<HttpRequest> {
        self.0.lock().clone()
    }
}

/// A client answering with `answer`, recording each request before `answer` sees it.
pub(crate) fn recording<F, Fut>(answer: F) -> (SharedHttpClient, Requests)
where
    F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<HttpResponse, HttpError>> + Send + 'static,
{
    let seen = Requests::default();
    let log = seen.clone();
    let client = SharedHttpClient::new(move |request: HttpRequest| {
        log.0.lock().push(request.clone());
        answer(request)
    });
    (client, seen)
}

/// A client answering every request with a clone of `response`.
pub(crate) fn answering(response: HttpResponse) -> (SharedHttpClient, Requests) {
    recording(move |_| std::future::ready(Ok(response.clone())))
}
