//! PKCE (RFC 7636, method `S256`) and the OAuth `state`, from the OS CSPRNG (AUTH.md §8.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// A PKCE pair: the secret verifier and its public `S256` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    /// The verifier, sent only with the code exchange.
    pub verifier: Secret,
    /// The unpadded base64url SHA-256 of the verifier, sent in the authorize URL.
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair: 64 random bytes as an 86-character unpadded base64url verifier.
    pub fn generate() -> Pkce {
        Pkce::from_verifier(Secret::new(random_base64url::<64>()))
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: Secret) -> Pkce {
        let challenge = s256_challenge(verifier.expose());
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// The `S256` challenge of a verifier: unpadded base64url of its SHA-256.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh OAuth `state`: 32 random bytes as 43 characters of unpadded base64url.
pub fn generate_state() -> Secret {
    Secret::new(random_base64url::<32>())
}

fn random_base64url<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn is_base64url(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        let pkce = Pkce::from_verifier(Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_values_have_the_spec_shape_and_differ() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        assert_eq!(a.verifier.expose().len(), 86);
        assert!(is_base64url(a.verifier.expose()));
        assert_eq!(a.challenge, s256_challenge(a.verifier.expose()));
        assert_eq!(a.challenge.len(), 43);
        assert_ne!(a.verifier, b.verifier);

        let (s1, s2) = (generate_state(), generate_state());
        assert_eq!(s1.expose().len(), 43);
        assert!(is_base64url(s1.expose()));
        assert_ne!(s1, s2);
    }

    #[test]
    fn debug_never_shows_the_verifier() {
        let pkce = Pkce::generate();
        let debug = format!("{pkce:?}");
        assert!(!debug.contains(pkce.verifier.expose()));
        assert!(debug.contains("[REDACTED]"));
    }
}
