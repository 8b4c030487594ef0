//! The authorize URL of the browser login (AUTH.md §8.2).

use crate::secret::Secret;

/// The scopes Codex requests, space separated.
pub const SCOPE: &str =
    "openid profile email offline_access api.connectors.read api.connectors.invoke";

/// `<issuer>/oauth/authorize?…` with exactly the §8.2 parameters, in order, each value
/// percent-encoded (everything but `A-Z a-z 0-9 - _ . ~`). `allowed_workspace_id` (the ids joined
/// by `,`) is added only when `allowed_workspaces` is non-empty.
pub fn authorize_url(
    issuer: &str,
    client_id: &str,
    redirect_uri: &str,
    challenge: &str,
    state: &Secret,
    originator: &str,
    allowed_workspaces: &[String],
) -> String {
    let mut params: Vec<(&str, String)> = vec![
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("scope", SCOPE.to_owned()),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
        ("id_token_add_organizations", "true".to_owned()),
        ("codex_cli_simplified_flow", "true".to_owned()),
        ("state", state.expose().to_owned()),
        ("originator", originator.to_owned()),
    ];
    if !allowed_workspaces.is_empty() {
        params.push(("allowed_workspace_id", allowed_workspaces.join(",")));
    }
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{}/oauth/authorize?{query}", issuer.trim_end_matches('/'))
}

/// Percent-encodes every byte outside the RFC 3986 unreserved set (a space becomes `%20`).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn restricted_url_has_exactly_the_spec_parameters_in_order() {
        let state = Secret::new("st-ate_1");
        let url = authorize_url(
            "https://auth.openai.com",
            crate::token_endpoint::CLIENT_ID,
            "http://127.0.0.1:1455/auth/callback",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            &state,
            "codex_cli_rs",
            &["ws1".to_owned(), "ws2".to_owned()],
        );
        let expected = "https://auth.openai.com/oauth/authorize?response_type=code\
            &client_id=app_EMoamEEZ73f0CkXaXp7hrann\
            &redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback\
            &scope=openid%20profile%20email%20offline_access%20api.connectors.read%20api.connectors.invoke\
            &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
            &code_challenge_method=S256\
            &id_token_add_organizations=true\
            &codex_cli_simplified_flow=true\
            &state=st-ate_1\
            &originator=codex_cli_rs\
            &allowed_workspace_id=ws1%2Cws2";
        assert_eq!(url, expected);
    }

    #[test]
    fn unrestricted_url_ends_with_the_originator() {
        let url = authorize_url(
            "http://127.0.0.1:9/",
            "app_override",
            "http://127.0.0.1:1457/auth/callback",
            "c",
            &Secret::new("s"),
            "codex vscode",
            &[],
        );
        assert!(url.starts_with(
            "http://127.0.0.1:9/oauth/authorize?response_type=code&client_id=app_override&"
        ));
        assert!(url.ends_with("&state=s&originator=codex%20vscode"), "{url}");
        assert!(!url.contains("allowed_workspace_id"));
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(percent_encode("aZ0-_.~"), "aZ0-_.~");
        assert_eq!(percent_encode("a b+c/é"), "a%20b%2Bc%2F%C3%A9");
    }
}
