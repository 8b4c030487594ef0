use std::time::Duration;

use pretty_assertions::assert_eq;

use super::support::*;
use crate::fake_issuer::FakeIssuer;
use crate::login::browser::start_with_plan;
use crate::login::callback_server::BindPlan;
use crate::login::{LoginError, start_browser_login};

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn quick_plan(ports: Vec<u16>) -> BindPlan {
    BindPlan {
        ports,
        retries: 3,
        retry_delay: Duration::from_millis(20),
        cancel_timeout: Duration::from_millis(300),
    }
}

#[test]
fn only_the_default_port_falls_back_and_retries_follow_the_spec() {
    let default = BindPlan::for_port(1455);
    assert_eq!(default.ports, vec![1455, 1457]);
    assert_eq!(
        (default.retries, default.retry_delay),
        (10, Duration::from_millis(200))
    );
    assert_eq!(default.cancel_timeout, Duration::from_secs(2));
    assert_eq!(BindPlan::for_port(1457).ports, vec![1457]);
    assert_eq!(BindPlan::for_port(8080).ports, vec![8080]);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_404_and_only_loopback_listens() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, _) = recording();
    let (handle, auth_url) = start_browser_login(&options(&issuer), persist)
        .await
        .unwrap();
    let base = callback_base(&auth_url);
    let browser = browser();
    for path in [
        "/",
        "/auth",
        "/auth/callback/x",
        "/favicon.ico",
        "/success?x=1",
    ] {
        let resp = browser.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.text().await.unwrap(), "Not Found");
    }
    let post = browser.post(format!("{base}/cancel")).send().await.unwrap();
    assert_eq!(post.status(), 404);
    let port = url::Url::parse(&base).unwrap().port().unwrap();
    // Bound to 127.0.0.1 only: the IPv6 loopback (and so any other address) refuses.
    assert!(std::net::TcpStream::connect(("::1", port)).is_err());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(!handle.is_finished());
    handle.cancel().await;
}

#[tokio::test]
async fn a_new_login_cancels_our_earlier_one_on_the_same_port() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();
    let (first, first_url) = start_browser_login(&options(&issuer), persist.clone())
        .await
        .unwrap();
    let port = url::Url::parse(&callback_base(&first_url))
        .unwrap()
        .port()
        .unwrap();
    let mut opts = options(&issuer);
    opts.callback_port = port;
    let (second, second_url) = start_browser_login(&opts, persist).await.unwrap();
    assert_eq!(
        first.wait().await.unwrap_err().to_string(),
        "Login cancelled"
    );
    assert_eq!(
        callback_base(&second_url),
        format!("http://127.0.0.1:{port}")
    );
    assert!(param(&second_url, "redirect_uri").contains(&format!("127.0.0.1:{port}")));
    assert!(!second.is_finished());
    second.cancel().await;
    assert!(saved.lock().is_empty());
}

#[tokio::test]
async fn a_foreign_listener_ignoring_cancel_means_port_in_use() {
    let issuer = FakeIssuer::start().await.unwrap();
    // Accepts connections (kernel backlog) but never answers.
    let foreign = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = foreign.local_addr().unwrap().port();
    let mut opts = options(&issuer);
    opts.callback_port = port;
    let (persist, _) = recording();
    // The real plan: one /cancel with 2 s timeouts, then 10 retries 200 ms apart.
    let err = start_browser_login(&opts, persist).await.unwrap_err();
    assert_eq!(err, LoginError::PortInUse(port));
    assert_eq!(
        err.to_string(),
        format!("Port 127.0.0.1:{port} is already in use")
    );
}

#[tokio::test]
async fn a_busy_first_port_falls_back_to_the_second() {
    let issuer = FakeIssuer::start().await.unwrap();
    let foreign = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = foreign.local_addr().unwrap().port();
    let fallback = free_port();
    let (persist, _) = recording();
    let plan = quick_plan(vec![busy, fallback]);
    let (handle, url) = start_with_plan(&options(&issuer), persist.clone(), &plan)
        .await
        .unwrap();
    assert_eq!(callback_base(&url), format!("http://127.0.0.1:{fallback}"));
    handle.cancel().await;

    let _second_foreign = std::net::TcpListener::bind(("127.0.0.1", fallback)).unwrap();
    let err = start_with_plan(&options(&issuer), persist, &plan)
        .await
        .unwrap_err();
    assert_eq!(err, LoginError::PortInUse(fallback));
}
