//! Closure clients for tests that record every request they are handed (test support, with the
//! fake issuer behind the `fake-issuer` feature).

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{HttpError, HttpRequest, HttpResponse, SharedHttpClient};

/// The requests a [`recording`] client saw, in order.
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<Mutex<Vec<HttpRequest>>>);

impl Requests {
    /// How many requests were sent.
    pub fn count(&self) -> usize {
        self.0.lock().len()
    }

    /// How many requests went to `path` (e.g. `/oauth/token`).
    pub fn count_path(&self, path: &str) -> usize {
        self.0.lock().iter().filter(|r| r.path() == path).count()
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<HttpRequest> {
        self.0.lock().clone()
    }
}

/// A client answering with `answer`, recording each request before `answer` sees it.
pub fn recording<F, Fut>(answer: F) -> (SharedHttpClient, Requests)
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
pub fn answering(response: HttpResponse) -> (SharedHttpClient, Requests) {
    recording(move |_| std::future::ready(Ok(response.clone())))
}

/// A client answering each path from its script in turn, the last answer repeating (404 for a
/// path without a script).
pub fn scripted(script: &[(&str, Vec<HttpResponse>)]) -> (SharedHttpClient, Requests) {
    let script: std::collections::HashMap<String, Vec<HttpResponse>> = script
        .iter()
        .map(|(path, answers)| ((*path).to_owned(), answers.clone()))
        .collect();
    let seen = Requests::default();
    let log = seen.clone();
    let client = SharedHttpClient::new(move |request: HttpRequest| {
        let path = request.path();
        let turn = {
            let mut log = log.0.lock();
            let turn = log.iter().filter(|r| r.path() == path).count();
            log.push(request);
            turn
        };
        let answer = script
            .get(&path)
            .and_then(|answers| answers.get(turn).or(answers.last()))
            .cloned()
            .unwrap_or_else(|| HttpResponse::status(404));
        std::future::ready(Ok(answer))
    });
    (client, seen)
}
