//! The HTTP layer in front of jsonrpsee (PROTOCOL.md §7 "Origin", "Auth", "HTTP extras"): every
//! request (WebSocket upgrade, POST or GET) passes it first.
//!
//! 1. Any `Origin` header → 403 (browser pages must not drive the server).
//! 2. `GET /healthz` and `GET /readyz` → 200 with an empty body (no token needed).
//! 3. With a token configured, `Authorization: Bearer <token>` must match (constant time) → 401.
//! 4. Otherwise a fresh [`Peer`] is put into the request's extensions and jsonrpsee serves it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::peer::Peer;
use crate::state::ServerState;

/// Paths answered 200 with an empty body.
const HEALTH_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// What the layer needs: the state new peers register in, the expected token's digest, and
/// the liveness sender each peer holds.
struct Settings {
    state: ServerState,
    token_digest: Option<[u8; 32]>,
    live: mpsc::Sender<()>,
}

/// The tower layer applied to jsonrpsee's HTTP service.
#[derive(Clone)]
pub(super) struct GateLayer {
    settings: Arc<Settings>,
}

impl GateLayer {
    /// A layer for `state`; with `token`, every connection or POST must present it.
    pub(super) fn new(state: ServerState, token: Option<&str>, live: mpsc::Sender<()>) -> Self {
        Self {
            settings: Arc::new(Settings {
                state,
                token_digest: token.map(digest),
                live,
            }),
        }
    }
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate {
            inner,
            settings: Arc::clone(&self.settings),
        }
    }
}

/// The service of [`GateLayer`].
#[derive(Clone)]
pub(super) struct Gate<S> {
    inner: S,
    settings: Arc<Settings>,
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

impl<S, B> tower::Service<HttpRequest<B>> for Gate<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: HttpRequest<B>) -> Self::Future {
        if request.headers().contains_key("origin") {
            tracing::info!(path = %request.uri().path(), "request with an Origin header refused");
            return ready(status(403));
        }
        if request.method() == "GET" && HEALTH_PATHS.contains(&request.uri().path()) {
            return ready(status(200));
        }
        if let Some(expected) = &self.settings.token_digest
            && !bearer_matches(&request, expected)
        {
            tracing::info!(path = %request.uri().path(), "request without the right bearer refused");
            let mut response = status(401);
            response
                .headers_mut()
                .insert("www-authenticate", http::HeaderValue::from_static("Bearer"));
            return ready(response);
        }
        let settings = &self.settings;
        let peer = Peer::open(&settings.state, settings.live.clone());
        request.extensions_mut().insert(peer);
        Box::pin(self.inner.call(request))
    }
}

fn ready(response: HttpResponse) -> ResponseFuture {
    Box::pin(std::future::ready(Ok(response)))
}

/// An empty response with `code`.
fn status(code: u16) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::empty());
    *response.status_mut() = http::StatusCode::from_u16(code).unwrap_or_default();
    response
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `Authorization` is `Bearer <token>` for the expected token. Digests of equal length
/// are compared without early exit, so the time taken says nothing about the token.
fn bearer_matches<B>(request: &HttpRequest<B>, expected: &[u8; 32]) -> bool {
    let Some(value) = request.headers().get("authorization") else {
        return false;
    };
    let value = value.as_bytes();
    let Some((scheme, token)) = value.split_at_checked(7) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    let presented: [u8; 32] = Sha256::digest(token).into();
    let difference = presented
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use jsonrpsee::server::HttpRequest;

    use super::{bearer_matches, digest};

    fn with_auth(value: &str) -> HttpRequest<()> {
        HttpRequest::builder()
            .header("authorization", value)
            .body(())
            .unwrap_or_default()
    }

    #[test]
    fn bearer_rules() {
        let expected = digest("s3cret");
        assert!(bearer_matches(&with_auth("Bearer s3cret"), &expected));
        assert!(bearer_matches(&with_auth("bearer s3cret"), &expected));
        assert!(!bearer_matches(&with_auth("Bearer s3cre"), &expected));
        assert!(!bearer_matches(&with_auth("Bearer s3cret "), &expected));
        assert!(!bearer_matches(&with_auth("Basic s3cret"), &expected));
        assert!(!bearer_matches(&with_auth("Bearer"), &expected));
        let none: HttpRequest<()> = HttpRequest::new(());
        assert!(!bearer_matches(&none, &expected));
    }
}
