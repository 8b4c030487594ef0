//! Logins as a client sees them: [`Browser`], the one HTTP client that plays the user's browser
//! against the fake issuer and the loopback callback server, and the session helpers the login
//! suites share.

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use super::Session;

/// An HTTP client that behaves like the user's browser, except that it never follows redirects
/// (each hop is asserted).
pub struct Browser {
    /// The underlying client, for requests the helpers do not cover.
    pub client: reqwest::Client,
}

/// One answer seen by the [`Browser`].
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(crate::support::TIMEOUT)
            .build()
            .unwrap();
        Self { client }
    }

    pub async fn get(&self, url: &str) -> Page {
        let resp = self.client.get(url).send().await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.text().await.unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    /// Opens `auth_url` at the (auto-approving) issuer and returns the callback URL it
    /// redirects to, carrying `code` and `state`.
    pub async fn authorize(&self, auth_url: &str) -> Url {
        let page = self.get(auth_url).await;
        assert_eq!(page.status, StatusCode::FOUND, "the issuer redirects back");
        let callback = Url::parse(&page.location.unwrap()).unwrap();
        assert_eq!(callback.path(), "/auth/callback");
        callback
    }

    /// Follows the callback with the right state and then `/success`, as a browser would.
    pub async fn finish(&self, callback: &Url) {
        let page = self.get(callback.as_str()).await;
        assert_eq!(page.status, StatusCode::FOUND, "callback: {}", page.body);
        assert_eq!(page.location.as_deref(), Some("/success"));
        let success = callback.join("/success").unwrap();
        let page = self.get(success.as_str()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("Signed in"),
            "success page: {}",
            page.body
        );
    }

    /// The whole browser side of a sign-in: authorize, callback, success.
    pub async fn sign_in(&self, auth_url: &str) {
        let callback = self.authorize(auth_url).await;
        self.finish(&callback).await;
    }
}

/// Asserts that nothing is waiting on the connection: the next message is the answer to a
/// fresh `getAuthStatus`. Returns that status.
pub async fn assert_quiet(session: &mut Session) -> Value {
    let answer = session
        .request("getAuthStatus", json!({"includeToken": true}))
        .await;
    answer["result"].clone()
}

/// The `loginId` of a login start result, checked to be a lowercase UUID v4.
pub fn login_id(result: &Value) -> String {
    let id = result["loginId"].as_str().unwrap().to_string();
    let parsed = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(id, id.to_lowercase());
    id
}

/// Starts a login that ends on its own at once (short timeout, immediate grant) and returns its
/// result and its one completion notification. Only here may the completion overtake the
/// response: these tests are about the completion text, not the order.
pub async fn start_and_end(session: &mut Session, method: &str, params: Value) -> (Value, Value) {
    let id = session.send(method, params).await;
    let (answer, mut before) = session.answer_to(&id).await;
    assert!(before.len() <= 1, "{before:?}");
    let completion = match before.pop() {
        Some(completion) => completion,
        None => session.read_message().await,
    };
    (answer["result"].clone(), completion)
}
