//! Unverified JWT claim decoding (AUTH.md §1.3).
//!
//! Claims drive display and scheduling only; signatures are never checked. Every decoding failure
//! means "no claims": never a panic, never an error.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The namespaced claim holding ChatGPT account data.
const AUTH_CLAIM: &str = "https://api.openai.com/auth";
/// The namespaced claim holding profile data (email).
const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// A ChatGPT plan, as read from `chatgpt_plan_type`: every plan of Codex 0.171.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanType {
    /// `free`
    Free,
    /// `go`
    Go,
    /// `plus`
    Plus,
    /// `pro`
    Pro,
    /// `prolite`
    Prolite,
    /// `promax`
    Promax,
    /// `team`
    Team,
    /// `self_serve_business_prolite`
    SelfServeBusinessProlite,
    /// `self_serve_business_usage_based`
    SelfServeBusinessUsageBased,
    /// `business`
    Business,
    /// `ent26`
    Ent26,
    /// `enterprise_cbp_automation`
    EnterpriseCbpAutomation,
    /// `enterprise_cbp_usage_based`
    EnterpriseCbpUsageBased,
    /// `enterprise` (alias `hc`)
    Enterprise,
    /// `edu` (alias `education`)
    Edu,
    /// `edu_plus`
    EduPlus,
    /// `edu_pro`
    EduPro,
    /// `sci`
    Sci,
    /// `sci_plus`
    SciPlus,
    /// Anything else, or a missing claim on ChatGPT auth.
    Unknown,
}

impl PlanType {
    /// Every known plan (not `Unknown`), in Codex's order.
    pub const KNOWN: [PlanType; 19] = [
        PlanType::Free,
        PlanType::Go,
        PlanType::Plus,
        PlanType::Pro,
        PlanType::Prolite,
        PlanType::Promax,
        PlanType::Team,
        PlanType::SelfServeBusinessProlite,
        PlanType::SelfServeBusinessUsageBased,
        PlanType::Business,
        PlanType::Ent26,
        PlanType::EnterpriseCbpAutomation,
        PlanType::EnterpriseCbpUsageBased,
        PlanType::Enterprise,
        PlanType::Edu,
        PlanType::EduPlus,
        PlanType::EduPro,
        PlanType::Sci,
        PlanType::SciPlus,
    ];

    /// Maps a raw claim value: trimmed, case-insensitive, with the `hc` and `education` aliases.
    pub fn from_claim(raw: &str) -> PlanType {
        match raw.trim().to_ascii_lowercase().as_str() {
            "hc" => PlanType::Enterprise,
            "education" => PlanType::Edu,
            name => PlanType::KNOWN
                .into_iter()
                .find(|plan| plan.as_str() == name)
                .unwrap_or(PlanType::Unknown),
        }
    }

    /// The lowercase exposed name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanType::Free => "free",
            PlanType::Go => "go",
            PlanType::Plus => "plus",
            PlanType::Pro => "pro",
            PlanType::Prolite => "prolite",
            PlanType::Promax => "promax",
            PlanType::Team => "team",
            PlanType::SelfServeBusinessProlite => "self_serve_business_prolite",
            PlanType::SelfServeBusinessUsageBased => "self_serve_business_usage_based",
            PlanType::Business => "business",
            PlanType::Ent26 => "ent26",
            PlanType::EnterpriseCbpAutomation => "enterprise_cbp_automation",
            PlanType::EnterpriseCbpUsageBased => "enterprise_cbp_usage_based",
            PlanType::Enterprise => "enterprise",
            PlanType::Edu => "edu",
            PlanType::EduPlus => "edu_plus",
            PlanType::EduPro => "edu_pro",
            PlanType::Sci => "sci",
            PlanType::SciPlus => "sci_plus",
            PlanType::Unknown => "unknown",
        }
    }
}

/// Decodes a JWT's payload: exactly three non-empty `.` segments, a base64url middle segment
/// (trailing `=` tolerated) holding a JSON object. Anything else is `None`.
pub fn jwt_payload(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || header.is_empty() || payload.is_empty() || signature.is_empty() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// True if `token` decodes as a JWT (see [`jwt_payload`]).
pub fn is_jwt(token: &str) -> bool {
    jwt_payload(token).is_some()
}

/// The claims we read from an id_token (or, for external tokens, an access token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// Top-level `email`, else the profile claim's `email`.
    pub email: Option<String>,
    /// The auth claim's `chatgpt_plan_type`; `None` when missing.
    pub plan: Option<PlanType>,
    /// The auth claim's `chatgpt_user_id`, else its `user_id`.
    pub user_id: Option<String>,
    /// The auth claim's `chatgpt_account_id`.
    pub workspace_id: Option<String>,
}

/// Extracts [`TokenClaims`] from a decoded payload. Values of the wrong type count as missing.
pub fn claims_from_payload(payload: &Map<String, Value>) -> TokenClaims {
    let auth = payload.get(AUTH_CLAIM).and_then(Value::as_object);
    let auth_str = |key: &str| auth.and_then(|a| str_field(a, key));
    let email = str_field(payload, "email").or_else(|| {
        payload
            .get(PROFILE_CLAIM)
            .and_then(Value::as_object)
            .and_then(|p| str_field(p, "email"))
    });
    TokenClaims {
        email,
        plan: auth_str("chatgpt_plan_type").map(|p| PlanType::from_claim(&p)),
        user_id: auth_str("chatgpt_user_id").or_else(|| auth_str("user_id")),
        workspace_id: auth_str("chatgpt_account_id"),
    }
}

/// The access token's top-level integer `exp` (seconds since the epoch), if readable.
pub fn access_token_exp(token: &str) -> Option<i64> {
    jwt_payload(token)?.get("exp")?.as_i64()
}

fn str_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    use serde_json::json;

    use crate::fake_issuer::unsigned_jwt as jwt;

    #[test]
    fn decodes_a_jwt_payload() {
        let token = jwt(&json!({"exp": 1700000000, "email": "a@b.c"}));
        let payload = jwt_payload(&token).unwrap();
        assert_eq!(payload.get("email"), Some(&json!("a@b.c")));
        assert!(is_jwt(&token));
        assert_eq!(access_token_exp(&token), Some(1_700_000_000));
    }

    #[test]
    fn padding_is_tolerated() {
        let body = URL_SAFE_NO_PAD.encode(br#"{"a":1}"#); // 10 chars: needs "==" when padded
        assert_eq!(body.len() % 4, 2);
        let token = format!("h.{body}==.s");
        assert_eq!(jwt_payload(&token).unwrap().get("a"), Some(&json!(1)));
    }

    #[test]
    fn rejects_malformed_tokens() {
        let good = URL_SAFE_NO_PAD.encode(br#"{"a":1}"#);
        let array = URL_SAFE_NO_PAD.encode(b"[1,2]");
        for bad in [
            String::new(),
            "abc".to_owned(),
            format!("h.{good}"),
            format!("h.{good}.s.x"),
            format!(".{good}.s"),
            format!("h.{good}."),
            "h..s".to_owned(),
            "h.!!!.s".to_owned(),
            format!("h.{array}.s"),
            format!("h.{}.s", URL_SAFE_NO_PAD.encode(b"not json")),
        ] {
            assert_eq!(jwt_payload(&bad), None, "{bad}");
            assert!(!is_jwt(&bad));
        }
    }

    #[test]
    fn exp_must_be_an_integer() {
        assert_eq!(access_token_exp(&jwt(&json!({"exp": "1700000000"}))), None);
        assert_eq!(access_token_exp(&jwt(&json!({"exp": 1.5}))), None);
        assert_eq!(access_token_exp(&jwt(&json!({}))), None);
        assert_eq!(access_token_exp("opaque"), None);
    }

    #[test]
    fn claims_use_fallbacks_and_aliases() {
        // §12 item 4: email only under the profile claim, only user_id, plan "HC".
        let payload = json!({
            "https://api.openai.com/profile": {"email": "p@example.com"},
            "https://api.openai.com/auth": {"user_id": "u-1", "chatgpt_plan_type": " HC ",
                                            "chatgpt_account_id": "ws-1"}
        });
        let claims = claims_from_payload(payload.as_object().unwrap());
        assert_eq!(
            claims,
            TokenClaims {
                email: Some("p@example.com".into()),
                plan: Some(PlanType::Enterprise),
                user_id: Some("u-1".into()),
                workspace_id: Some("ws-1".into()),
            }
        );
    }

    #[test]
    fn top_level_email_and_chatgpt_user_id_win() {
        let payload = json!({
            "email": "top@example.com",
            "https://api.openai.com/profile": {"email": "p@example.com"},
            "https://api.openai.com/auth": {"user_id": "u-1", "chatgpt_user_id": "cu-1"}
        });
        let claims = claims_from_payload(payload.as_object().unwrap());
        assert_eq!(claims.email.as_deref(), Some("top@example.com"));
        assert_eq!(claims.user_id.as_deref(), Some("cu-1"));
        assert_eq!(claims.plan, None);
        assert_eq!(claims.workspace_id, None);
        assert_eq!(claims_from_payload(&Map::new()), TokenClaims::default());
    }

    #[test]
    fn plan_mapping() {
        // The plan names of Codex 0.171's `PlanType` schema, `unknown` aside.
        let codex_0_171 = [
            "free",
            "go",
            "plus",
            "pro",
            "prolite",
            "promax",
            "team",
            "self_serve_business_prolite",
            "self_serve_business_usage_based",
            "business",
            "ent26",
            "enterprise_cbp_automation",
            "enterprise_cbp_usage_based",
            "enterprise",
            "edu",
            "edu_plus",
            "edu_pro",
            "sci",
            "sci_plus",
        ];
        assert_eq!(PlanType::KNOWN.len(), codex_0_171.len());
        for name in codex_0_171 {
            let plan = PlanType::from_claim(name);
            assert_ne!(plan, PlanType::Unknown, "{name}");
            assert_eq!(plan.as_str(), name);
            assert_eq!(
                PlanType::from_claim(&format!(" {} ", name.to_uppercase())),
                plan
            );
        }
        assert_eq!(PlanType::from_claim("education"), PlanType::Edu);
        assert_eq!(PlanType::from_claim("hc"), PlanType::Enterprise);
        assert_eq!(PlanType::from_claim("mystery-tier"), PlanType::Unknown);
        assert_eq!(PlanType::from_claim(""), PlanType::Unknown);
        assert_eq!(PlanType::from_claim("unknown"), PlanType::Unknown);
        assert_eq!(PlanType::Unknown.as_str(), "unknown");
    }

    /// §12 item 5: decoding arbitrary strings never panics.
    #[test]
    fn decoding_arbitrary_strings_never_panics() {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=...{}\":, ";
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let valid_body = URL_SAFE_NO_PAD.encode(br#"{"exp":12,"email":"x"}"#);
        let mut decoded = 0;
        for i in 0..10_000 {
            let len = rng.random_range(0..64);
            let mut s: String = (0..len)
                .map(|_| {
                    if rng.random_bool(0.05) {
                        // arbitrary unicode scalar, including multi-byte chars
                        char::from_u32(rng.random_range(0..0x11_0000)).unwrap_or('\u{fffd}')
                    } else {
                        ALPHABET[rng.random_range(0..ALPHABET.len())] as char
                    }
                })
                .collect();
            if i % 10 == 0 {
                // splice a real payload in so the JSON path is exercised too
                s = format!("{s}.{valid_body}.{s}");
            }
            let payload = jwt_payload(&s);
            if let Some(p) = &payload {
                decoded += 1;
                let _ = claims_from_payload(p);
            }
            assert_eq!(is_jwt(&s), payload.is_some());
            let _ = access_token_exp(&s);
        }
        assert!(decoded > 0, "generator never produced a decodable token");
    }
}
