use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::auth_json::StoredAuth;
use crate::fake_issuer::FakeIssuer;
use crate::login::{LoginOptions, Persist};

/// Options against `issuer` with a free callback port and short timeouts.
pub(super) fn options(issuer: &FakeIssuer) -> LoginOptions {
    LoginOptions {
        issuer: issuer.url(),
        callback_port: 0,
        login_timeout: Duration::from_secs(30),
        device_timeout: Duration::from_secs(30),
        http_timeout: Duration::from_secs(10),
        ..LoginOptions::default()
    }
}

/// A persist callback that records every saved document.
pub(super) fn recording() -> (Persist, Arc<Mutex<Vec<StoredAuth>>>) {
    let saved = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&saved);
    let persist: Persist = Arc::new(move |doc| {
        sink.lock().push(doc);
        Box::pin(async { Ok(()) })
    });
    (persist, saved)
}

/// A persist callback whose save always fails.
pub(super) fn failing() -> Persist {
    Arc::new(|_| Box::pin(async { Err("disk full".to_owned()) }))
}

pub(super) use crate::test_browser::browser;

/// The `Location` of a redirect, with `localhost` pinned to 127.0.0.1.
pub(super) fn location(resp: &reqwest::Response) -> String {
    let loc = resp.headers()["location"].to_str().unwrap();
    loc.replace("//localhost:", "//127.0.0.1:")
}

/// A query parameter of a URL.
pub(super) fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// The callback server's base URL, from the authorize URL's `redirect_uri`.
pub(super) fn callback_base(auth_url: &str) -> String {
    let redirect = param(auth_url, "redirect_uri");
    let port = url::Url::parse(&redirect).unwrap().port().unwrap();
    format!("http://127.0.0.1:{port}")
}

/// Drives the fake issuer's authorize step: the callback URL it redirects to.
pub(super) async fn approve(auth_url: &str) -> String {
    let resp = browser().get(auth_url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    location(&resp)
}

/// True if 127.0.0.1:`port` can be bound again.
pub(super) fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}
