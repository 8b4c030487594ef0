#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use chrono::TimeZone;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::claims::{PlanType, TokenClaims};

use crate::fake_issuer::unsigned_jwt as jwt;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 23, 20, 3, 11).unwrap()
        + chrono::Duration::nanoseconds(481_516_000)
}

/// §12 item 1 at the data level: unknown keys survive a refresh merge and a file round trip.
#[test]
fn unknown_keys_survive_merge_and_write() {
    let input = br#"{
      "auth_mode": "chatgpt",
      "future_first": 1,
      "OPENAI_API_KEY": null,
      "tokens": {
        "id_token": "id-old",
        "token_extra": {"nested": [1, 2]},
        "access_token": "access-old",
        "refresh_token": "refresh-old",
        "account_id": "acct-1"
      },
      "last_refresh": "2026-01-01T00:00:00+02:00",
      "agent_identity": {"id": "agent-7"}
    }"#;
    let mut auth = parse(input).unwrap();
    let resp = TokenResponse {
        id_token: None,
        access_token: Some(Secret::new("access-new")),
        refresh_token: None,
    };
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    auth.merge_refresh(&resp, t);
    let written = String::from_utf8(auth.to_file_json()).unwrap();
    let expected = r#"{
  "auth_mode": "chatgpt",
  "OPENAI_API_KEY": null,
  "tokens": {
    "id_token": "id-old",
    "access_token": "access-new",
    "refresh_token": "refresh-old",
    "account_id": "acct-1",
    "token_extra": {
      "nested": [
        1,
        2
      ]
    }
  },
  "last_refresh": "2026-03-01T12:00:00.000000000Z",
  "future_first": 1,
  "agent_identity": {
    "id": "agent-7"
  }
}
"#;
    assert_eq!(written, expected);
    // and it parses back to the same thing
    let back = parse(written.as_bytes()).unwrap();
    assert_eq!(back, auth);
    assert_eq!(back.last_refresh, Some(t));
}

#[test]
fn merge_replaces_only_present_fields_and_keeps_account_id() {
    let mut auth = StoredAuth::chatgpt(
        TokenData::new(
            IdToken::Jwt(Secret::new("id-1")),
            Secret::new("a-1"),
            Secret::new("r-1"),
            Some("acct".into()),
        ),
        None,
        now(),
    );
    let later = now() + chrono::Duration::hours(1);
    auth.merge_refresh(
        &TokenResponse {
            id_token: Some(Secret::new("id-2")),
            access_token: None,
            refresh_token: Some(Secret::new("r-2")),
        },
        later,
    );
    let tokens = auth.tokens.as_ref().unwrap();
    assert_eq!(tokens.id_token.raw(), Some("id-2"));
    assert_eq!(tokens.access_token.expose(), "a-1");
    assert_eq!(tokens.refresh_token.expose(), "r-2");
    assert_eq!(tokens.account_id.as_deref(), Some("acct"));
    assert_eq!(auth.last_refresh, Some(later));
}

/// §12 item 2.
#[test]
fn api_key_with_null_tokens() {
    let auth = parse(br#"{"OPENAI_API_KEY":"sk-a","tokens":null,"last_refresh":null}"#).unwrap();
    assert_eq!(auth.resolve_mode(), Ok(AuthMode::ApiKey));
    assert_eq!(auth.bearer().map(Secret::expose), Some("sk-a"));
    assert!(!auth.is_refreshable());
    assert!(auth.tokens.is_none());
    assert!(auth.last_refresh.is_none());
}

/// §12 item 3.
#[test]
fn mode_resolution() {
    let tokens_only =
        parse(br#"{"tokens":{"id_token":"i","access_token":"a","refresh_token":"r"}}"#).unwrap();
    assert_eq!(tokens_only.resolve_mode(), Ok(AuthMode::Chatgpt));
    assert_eq!(tokens_only.bearer().map(Secret::expose), Some("a"));
    assert!(tokens_only.is_refreshable());
    assert_eq!(tokens_only.tokens.as_ref().unwrap().account_id, None);

    let missing_key = parse(br#"{"auth_mode":"apikey","OPENAI_API_KEY":null}"#).unwrap();
    assert_eq!(missing_key.resolve_mode(), Err(Unusable::MissingApiKey));
    assert_eq!(
        Unusable::MissingApiKey.to_string(),
        "API key auth is missing a key."
    );
    assert_eq!(missing_key.bearer(), None);

    let no_tokens = parse(br#"{"auth_mode":"chatgpt"}"#).unwrap();
    assert_eq!(no_tokens.resolve_mode(), Err(Unusable::MissingTokens));
    assert_eq!(
        Unusable::MissingTokens.to_string(),
        "ChatGPT auth is missing tokens."
    );
    assert_eq!(
        parse(b"{}").unwrap().resolve_mode(),
        Err(Unusable::MissingTokens)
    );

    let agent = parse(br#"{"auth_mode":"agentIdentity","OPENAI_API_KEY":"sk"}"#).unwrap();
    let err = agent.resolve_mode().unwrap_err();
    assert_eq!(err, Unusable::Unsupported("agentIdentity".into()));
    assert_eq!(err.to_string(), "unsupported auth_mode `agentIdentity`");
    assert_eq!(agent.bearer(), None);

    // explicit chatgpt wins over a present key; empty access token is no bearer
    let both = parse(
        br#"{"auth_mode":"chatgpt","OPENAI_API_KEY":"sk","tokens":{"id_token":"i","access_token":"","refresh_token":""}}"#,
    )
    .unwrap();
    assert_eq!(both.resolve_mode(), Ok(AuthMode::Chatgpt));
    assert_eq!(both.bearer(), None);
    assert!(!both.is_refreshable());
}

#[test]
fn external_tokens_are_never_refreshable() {
    let tokens = TokenData::new(
        IdToken::Jwt(Secret::new("i")),
        Secret::new("a"),
        Secret::new("r"),
        Some("acct".into()),
    );
    let auth = StoredAuth::external(tokens, now());
    assert_eq!(auth.resolve_mode(), Ok(AuthMode::ChatgptAuthTokens));
    assert_eq!(auth.bearer().map(Secret::expose), Some("a"));
    assert!(!auth.is_refreshable());
    assert_eq!(AuthMode::ChatgptAuthTokens.as_str(), "chatgptAuthTokens");
}

#[test]
fn constructors_write_the_documented_shape() {
    let key = StoredAuth::api_key(Secret::new("sk-x"));
    assert_eq!(
        key.to_compact_json(),
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-x"}"#
    );
    let login = StoredAuth::chatgpt(
        TokenData::new(
            IdToken::Jwt(Secret::new("i")),
            Secret::new("a"),
            Secret::new("r"),
            None,
        ),
        None,
        now(),
    );
    assert_eq!(
        login.to_compact_json(),
        r#"{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","account_id":null},"last_refresh":"2026-03-23T20:03:11.481516000Z"}"#
    );
    assert_eq!(parse(login.to_compact_json().as_bytes()).unwrap(), login);
}

/// §12 item 4.
#[test]
fn claims_from_the_id_token() {
    let id = jwt(&json!({
        "https://api.openai.com/profile": {"email": "e@x.com"},
        "https://api.openai.com/auth": {"user_id": "u1", "chatgpt_plan_type": "HC"}
    }));
    let doc = json!({"tokens": {"id_token": id, "access_token": "a", "refresh_token": "r"}});
    let auth = parse(doc.to_string().as_bytes()).unwrap();
    let claims = auth.tokens.as_ref().unwrap().id_token.claims();
    assert_eq!(claims.email.as_deref(), Some("e@x.com"));
    assert_eq!(claims.user_id.as_deref(), Some("u1"));
    assert_eq!(claims.plan, Some(PlanType::Enterprise));

    let plan_of = |p: Option<&str>| {
        let auth_claim = match p {
            Some(p) => json!({"chatgpt_plan_type": p}),
            None => json!({}),
        };
        let raw = jwt(&json!({"https://api.openai.com/auth": auth_claim}));
        IdToken::Jwt(Secret::new(raw))
            .claims()
            .plan
            .unwrap_or(PlanType::Unknown)
    };
    assert_eq!(plan_of(Some("education")), PlanType::Edu);
    assert_eq!(plan_of(Some("mystery-tier")), PlanType::Unknown);
    assert_eq!(plan_of(None), PlanType::Unknown);
    assert_eq!(
        IdToken::Jwt(Secret::new("not-a-jwt")).claims(),
        TokenClaims::default()
    );
}

#[test]
fn legacy_object_id_token_is_read_and_written_verbatim() {
    let input = br#"{"tokens":{"id_token":{"email":"old@x.com","raw_jwt":"secret-jwt","https://api.openai.com/auth":{"chatgpt_plan_type":"plus"}},"access_token":"a","refresh_token":"r","account_id":null}}"#;
    let auth = parse(input).unwrap();
    let id = &auth.tokens.as_ref().unwrap().id_token;
    assert_eq!(id.raw(), None);
    assert_eq!(id.claims().email.as_deref(), Some("old@x.com"));
    assert_eq!(id.claims().plan, Some(PlanType::Plus));
    assert_eq!(
        auth.to_compact_json(),
        r#"{"OPENAI_API_KEY":null,"tokens":{"id_token":{"email":"old@x.com","raw_jwt":"secret-jwt","https://api.openai.com/auth":{"chatgpt_plan_type":"plus"}},"access_token":"a","refresh_token":"r","account_id":null}}"#
    );
    assert!(!format!("{id:?}").contains("secret-jwt"));
}

/// §12 item 18: identical data in another format has the same fingerprint.
#[test]
fn fingerprint_ignores_formatting_and_unknown_keys() {
    let a = parse(
        br#"{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","account_id":"x"},"last_refresh":"2026-03-23T20:03:11.481516Z"}"#,
    )
    .unwrap();
    let b = parse(
        br#"{
            "last_refresh": "2026-03-23T22:03:11.481516000+02:00",
            "tokens": {"account_id": "x", "refresh_token": "r", "access_token": "a", "id_token": "i", "new": 1},
            "auth_mode": "chatgpt",
            "unknown": true
        }"#,
    )
    .unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(
        parse(&a.to_file_json()).unwrap().fingerprint(),
        a.fingerprint()
    );

    // every modelled field matters
    let base = a.fingerprint();
    let mut c = a.clone();
    c.tokens.as_mut().unwrap().refresh_token = Secret::new("r2");
    assert_ne!(c.fingerprint(), base);
    let mut c = a.clone();
    c.tokens.as_mut().unwrap().account_id = None;
    assert_ne!(c.fingerprint(), base);
    let mut c = a.clone();
    c.last_refresh = Some(c.last_refresh.unwrap() + chrono::Duration::nanoseconds(1));
    assert_ne!(c.fingerprint(), base);
    let mut c = a.clone();
    c.auth_mode = None;
    assert_ne!(c.fingerprint(), base);
    let mut c = a.clone();
    c.openai_api_key = Some(Secret::new(""));
    assert_ne!(c.fingerprint(), base);
}

#[test]
fn fingerprint_matches_the_canonical_encoding() {
    let auth = parse(
        br#"{"OPENAI_API_KEY":"k","tokens":{"id_token":"i","access_token":"a","refresh_token":"r"},"last_refresh":"2026-01-02T03:04:05Z"}"#,
    )
    .unwrap();
    let canonical = br#"[null,"k","i","a","r",null,"2026-01-02T03:04:05.000000000Z"]"#;
    assert_eq!(auth.fingerprint(), Fingerprint::digest(canonical));
}

#[test]
fn without_unknown_keys_drops_both_levels() {
    let auth =
        parse(br#"{"x":1,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","y":2}}"#)
            .unwrap();
    assert!(auth.has_unknown_keys());
    let fp = auth.fingerprint();
    let clean = auth.without_unknown_keys();
    assert!(!clean.has_unknown_keys());
    assert_eq!(clean.fingerprint(), fp);
    assert_eq!(
        clean.to_compact_json(),
        r#"{"OPENAI_API_KEY":null,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","account_id":null}}"#
    );
}

#[test]
fn schema_violations_are_data_errors_with_position() {
    let cases: [(&[u8], ParseErrorCategory); 9] = [
        (
            br#"{"tokens":{"id_token":"i","refresh_token":"r"}}"#,
            ParseErrorCategory::Data,
        ),
        (
            br#"{"tokens":{"id_token":5,"access_token":"a","refresh_token":"r"}}"#,
            ParseErrorCategory::Data,
        ),
        (br#"{"OPENAI_API_KEY":5}"#, ParseErrorCategory::Data),
        (br#"{"last_refresh":"yesterday"}"#, ParseErrorCategory::Data),
        (br#"[]"#, ParseErrorCategory::Data),
        (br#"{"tokens":"x"}"#, ParseErrorCategory::Data),
        (b"", ParseErrorCategory::Eof),
        (br#"{"auth_mode":"chatgpt","tok"#, ParseErrorCategory::Eof),
        (b"{nope}", ParseErrorCategory::Syntax),
    ];
    for (input, category) in cases {
        let err = parse(input).unwrap_err();
        assert_eq!(err.category, category, "{}", String::from_utf8_lossy(input));
    }
    let err = parse(b"{\n  \"OPENAI_API_KEY\": 5\n}").unwrap_err();
    assert_eq!((err.line, err.column), (2, 21));
    assert_eq!(
        err.to_string(),
        "invalid auth.json: data error at line 2, column 21"
    );
}

#[test]
fn parse_errors_never_quote_secrets() {
    let secret = "sk-super-secret-value";
    let inputs = [
        format!(r#"{{"OPENAI_API_KEY":"{secret}","tokens":{{"access_token":"{secret}"}}}}"#),
        format!(
            r#"{{"tokens":{{"id_token":"i","access_token":"a","refresh_token":"r"}},"last_refresh":"{secret}"}}"#
        ),
        format!(r#"{{"auth_mode":{secret}}}"#),
        format!(
            r#"{{"tokens":{{"id_token":["{secret}"],"access_token":"a","refresh_token":"r"}}}}"#
        ),
        format!(r#"{{"OPENAI_API_KEY":"{secret}""#),
    ];
    for input in inputs {
        let err = parse(input.as_bytes()).unwrap_err();
        assert!(!err.to_string().contains(secret));
        assert!(!format!("{err:?}").contains(secret));
    }
}

#[test]
fn debug_never_shows_secrets() {
    let mut auth = parse(
        br#"{"OPENAI_API_KEY":"sk-key-1","tokens":{"id_token":"id-tok-1","access_token":"acc-tok-1","refresh_token":"ref-tok-1","account_id":"acct-9","x":"extra-val"}}"#,
    )
    .unwrap();
    auth.auth_mode = Some("chatgpt".into());
    let dbg = format!("{auth:?} {:?}", auth.tokens);
    for secret in [
        "sk-key-1",
        "id-tok-1",
        "acc-tok-1",
        "ref-tok-1",
        "extra-val",
    ] {
        assert!(!dbg.contains(secret), "{dbg}");
    }
    assert!(dbg.contains("acct-9"));
    assert!(dbg.contains(&auth.fingerprint().short()));
}
