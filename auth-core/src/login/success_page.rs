//! Where the browser goes after a completed sign-in (Codex 0.171's `useHostedLoginSuccessPage`
//! and `appBrand`): our own `/success` page, or the hosted page, which ends the flow at once.

use serde_json::Value;

/// The hosted success page Codex opens (`CODEX_OPEN_APP_URL`).
pub const HOSTED_SUCCESS_URL: &str = "https://chatgpt.com/codex/open-app";

/// The brand the hosted page shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AppBrand {
    /// `appBrand: "codex"` (the default).
    #[default]
    Codex,
    /// `appBrand: "chatgpt"`.
    Chatgpt,
}

impl AppBrand {
    fn as_str(self) -> &'static str {
        match self {
            AppBrand::Codex => "codex",
            AppBrand::Chatgpt => "chatgpt",
        }
    }
}

/// The success page of a browser login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SuccessPage {
    /// Our `/success` page, whose fetch ends the login (the default).
    #[default]
    Local,
    /// The hosted page with this brand; the login ends when the callback redirects there.
    Hosted(AppBrand),
}

/// The hosted page's URL (`?source=login&app_brand=<brand>`), or `None` for the local page. As
/// in Codex, an organisation owner who has not finished platform onboarding (id_token claims
/// `is_org_owner` and not `completed_platform_onboarding`) stays on the local page.
pub(crate) fn hosted_redirect(page: &SuccessPage, id_token: &str) -> Option<String> {
    let SuccessPage::Hosted(brand) = page else {
        return None;
    };
    let auth = crate::claims::jwt_payload(id_token)
        .and_then(|p| p.get("https://api.openai.com/auth").cloned())
        .unwrap_or(Value::Null);
    let flag = |name: &str| auth.get(name).and_then(Value::as_bool).unwrap_or(false);
    let needs_setup = flag("is_org_owner") && !flag("completed_platform_onboarding");
    (!needs_setup).then(|| {
        format!(
            "{HOSTED_SUCCESS_URL}?source=login&app_brand={}",
            brand.as_str()
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn jwt(auth: Value) -> String {
        crate::fake_issuer::unsigned_jwt(
            &serde_json::json!({ "https://api.openai.com/auth": auth }),
        )
    }

    #[test]
    fn hosted_page_carries_source_and_brand_unless_setup_is_needed() {
        let plain = jwt(serde_json::json!({}));
        assert_eq!(hosted_redirect(&SuccessPage::Local, &plain), None);
        assert_eq!(
            hosted_redirect(&SuccessPage::Hosted(AppBrand::Chatgpt), &plain).unwrap(),
            "https://chatgpt.com/codex/open-app?source=login&app_brand=chatgpt"
        );
        assert_eq!(
            hosted_redirect(&SuccessPage::Hosted(AppBrand::default()), "not-a-jwt").unwrap(),
            "https://chatgpt.com/codex/open-app?source=login&app_brand=codex"
        );
        let owner = jwt(serde_json::json!({"is_org_owner": true}));
        assert_eq!(
            hosted_redirect(&SuccessPage::Hosted(AppBrand::Codex), &owner),
            None
        );
        let done =
            jwt(serde_json::json!({"is_org_owner": true, "completed_platform_onboarding": true}));
        assert!(hosted_redirect(&SuccessPage::Hosted(AppBrand::Codex), &done).is_some());
    }
}
