//! Test-only: the HTTP client that plays the browser in the login and fake-issuer tests.

use std::time::Duration;

/// A client like a browser driven by a test: redirects not followed (tests read `Location`), no
/// proxy (everything is loopback), a 10 s timeout.
#[allow(clippy::expect_used)]
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a reqwest client without TLS roots to load")
}
