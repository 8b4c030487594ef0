//! Snapshot identity (AUTH.md §4.1): a SHA-256 over the canonical encoding of the modelled fields.
//!
//! The canonical encoding itself is built by `StoredAuth::fingerprint()`; this module only holds
//! the digest type and its text forms. Logs show `fp:` plus the first 12 hex characters.

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 digest identifying one credential snapshot.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The SHA-256 of `bytes`.
    pub fn digest(bytes: &[u8]) -> Self {
        Fingerprint(Sha256::digest(bytes).into())
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex characters.
    pub fn to_hex(self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0x0f)] as char);
        }
        out
    }

    /// Parses 64 hex characters (either case). Anything else is `None`.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *slot = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(Fingerprint(out))
    }

    /// The first 12 hex characters, for logs.
    pub fn short(&self) -> String {
        let mut hex = self.to_hex();
        hex.truncate(12);
        hex
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fp:{}", self.short())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fp:{}", self.short())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn hex_round_trip_and_known_vector() {
        let fp = Fingerprint::digest(b"abc");
        let hex = fp.to_hex();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Fingerprint::from_hex(&hex), Some(fp));
        assert_eq!(Fingerprint::from_hex(&hex.to_uppercase()), Some(fp));
        assert_eq!(fp.short(), "ba7816bf8f01");
        assert_eq!(format!("{fp}"), "fp:ba7816bf8f01");
        assert_eq!(format!("{fp:?}"), "fp:ba7816bf8f01");
        assert_eq!(Fingerprint::from_bytes(*fp.as_bytes()), fp);
    }

    #[test]
    fn from_hex_rejects_bad_input() {
        let hex = Fingerprint::digest(b"x").to_hex();
        assert_eq!(Fingerprint::from_hex(&hex[..63]), None);
        assert_eq!(Fingerprint::from_hex(&format!("{hex}0")), None);
        assert_eq!(Fingerprint::from_hex(&format!("g{}", &hex[1..])), None);
        assert_eq!(Fingerprint::from_hex(""), None);
        // 64 bytes but multi-byte chars must not panic
        assert_eq!(Fingerprint::from_hex(&"é".repeat(32)), None);
    }
}
