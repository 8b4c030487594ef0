//! The default [`HttpClient`]: reqwest with rustls. Each call site builds it with today's
//! settings (the token endpoint's 3 s connect / 10 s total timeouts and no redirects, revoke's
//! timeout and no redirects, a login's per-call timeout without a proxy for a loopback issuer);
//! every body is read under the [`crate::http_body`] cap.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{HttpClient, HttpError, HttpFuture, HttpRequest, HttpResponse};
use super::{SharedHttpClient, TransportError};

/// reqwest behind the seam. A client made by [`ReqwestHttp::no_redirects`] is built on its first
/// request: building one (TLS roots, connector) is a good part of a server's start-up, and a
/// status poll of valid credentials never needs it. The build is CPU work of about a millisecond
/// (the roots are compiled in; nothing is read from disk), done once on the calling task.
#[derive(Debug, Clone)]
pub struct ReqwestHttp {
    inner: Arc<Source>,
}

#[derive(Debug)]
enum Source {
    /// A client configured by the caller.
    Given(reqwest::Client),
    /// Built on first use; a failed build is that request's error and is tried again next time.
    Lazy {
        settings: NoRedirects,
        built: OnceLock<reqwest::Client>,
    },
}

/// The settings of a [`ReqwestHttp::no_redirects`] client.
#[derive(Debug, Clone, Copy)]
struct NoRedirects {
    connect: Option<Duration>,
    total: Duration,
}

impl NoRedirects {
    fn build(self) -> Result<reqwest::Client, TransportError> {
        let mut builder = reqwest::Client::builder()
            .timeout(self.total)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(connect) = self.connect {
            builder = builder.connect_timeout(connect);
        }
        builder.build().map_err(transport)
    }
}

impl ReqwestHttp {
    /// Wraps a configured reqwest client.
    pub fn from_client(client: reqwest::Client) -> ReqwestHttp {
        ReqwestHttp {
            inner: Arc::new(Source::Given(client)),
        }
    }

    /// The token endpoint's client: `connect` and `total` timeouts, redirects not followed;
    /// built on its first request (a failure to build is that request's transport error).
    pub fn no_redirects(connect: Option<Duration>, total: Duration) -> ReqwestHttp {
        ReqwestHttp {
            inner: Arc::new(Source::Lazy {
                settings: NoRedirects { connect, total },
                built: OnceLock::new(),
            }),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, TransportError> {
        match &*self.inner {
            Source::Given(client) => Ok(client),
            Source::Lazy { settings, built } => {
                if let Some(client) = built.get() {
                    return Ok(client);
                }
                // Two first requests at once may both build; one client is kept.
                let client = settings.build()?;
                Ok(built.get_or_init(|| client))
            }
        }
    }

    /// This client as options carry it.
    pub fn shared(self) -> SharedHttpClient {
        SharedHttpClient::new(self)
    }

    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self
            .client()
            .map_err(HttpError::Transport)?
            .request(request.method, &request.url)
            .headers(request.headers)
            .body(request.body)
            .send()
            .await
            .map_err(|err| HttpError::Transport(transport(err)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = crate::http_body::read_capped(response)
            .await
            .map_err(|cause| HttpError::Body { status, cause })?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl HttpClient for ReqwestHttp {
    fn send(&self, request: HttpRequest) -> HttpFuture<'_> {
        Box::pin(self.call(request))
    }
}

/// A reqwest failure as a [`TransportError`]: a short kind and the host, never reqwest's
/// `Display` with the URL.
pub(crate) fn transport(err: reqwest::Error) -> TransportError {
    TransportError {
        kind: transport_kind(&err),
        host: err.url().and_then(|u| u.host_str()).map(str::to_owned),
        detail: err.without_url().to_string(),
    }
}

/// `None` means timeout; otherwise a short network error kind.
fn transport_kind(err: &reqwest::Error) -> Option<&'static str> {
    if err.is_timeout() {
        return None;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut described = String::new();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Some("connection refused"),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                    return Some("reset");
                }
                std::io::ErrorKind::TimedOut => return None,
                _ => {}
            }
        }
        // Only used to pick a kind below; never returned or logged.
        described.push_str(&cause.to_string().to_ascii_lowercase());
        source = cause.source();
    }
    if described.contains("dns") {
        Some("dns")
    } else if described.contains("certificate") || described.contains("tls") {
        Some("tls")
    } else if err.is_connect() {
        Some("connect")
    } else {
        Some("network")
    }
}
