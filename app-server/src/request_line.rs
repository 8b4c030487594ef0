//! The shape of almost every input line, a request with a string method and a valid id, read
//! without building a `serde_json::Value` (`transport::classify`): the plain compact shape by a
//! byte scan (`request_scan`), any other such line by serde into a borrowed struct. Whatever
//! both refuse is classified through a `Value`, which decides every case alike, so these reads
//! may only take lines they read exactly as that one would.

use std::borrow::Cow;

use protocol::RequestId;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::request_scan;

/// A request line: its id, method and params (raw, as sent). Any other member but `jsonrpc`
/// sends the line through a `Value`: serde would skip it with lighter checks than a full parse.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestLine<'a> {
    #[serde(deserialize_with = "valid_id")]
    id: RequestId,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    /// Accepted and ignored (PROTOCOL.md §1); read as a string, which checks it fully.
    #[serde(default, borrow, rename = "jsonrpc")]
    _jsonrpc: Option<Cow<'a, str>>,
}

/// A request read from its line: the id, the method, the params as JSON text.
pub(crate) struct Request<'a> {
    pub(crate) id: RequestId,
    pub(crate) method: Cow<'a, str>,
    pub(crate) params: Option<&'a str>,
}

/// `line` as a request, or `None` when it is anything else (a notification, a response, a
/// duplicate or unknown member, invalid JSON) or may be read differently through a `Value`. The
/// plain compact shape is scanned ([`request_scan`]); other lines are read by serde.
pub(crate) fn read(line: &[u8]) -> Option<Request<'_>> {
    if let Some(request) = request_scan::scan(line) {
        return Some(request);
    }
    // An object only: serde would also read a struct from an array (a batch).
    if !line.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let request: RequestLine<'_> = serde_json::from_slice(line).ok()?;
    let params = request.params.map(RawValue::get);
    match params {
        Some(params) if !read_exactly(params.as_bytes()) => None,
        _ => Some(Request {
            id: request.id,
            method: request.method,
            params,
        }),
    }
}

/// Deeper nesting goes through a `Value`, whose parser stops at 128 levels.
const MAX_DEPTH: usize = 100;
/// A longer run of digits may be a number out of the `f64` range.
const MAX_DIGITS: usize = 300;

/// Whether params kept as text were checked as a full parse would check them. serde_json reads
/// a raw value with lighter checks (valid UTF-8, but a lone surrogate such as `"\ud800"`, a
/// number out of range such as `1e400`, and any depth pass). Params with none of what could hide
/// those (a `\u` escape, an exponent, a run of over [`MAX_DIGITS`] digits, nesting deeper than
/// [`MAX_DEPTH`]) read alike either way; the line of any others goes through a `Value`.
fn read_exactly(text: &[u8]) -> bool {
    // The usual params (`{"includeToken":true}`): too short to nest that deep, no digit, no
    // escape; nothing to track.
    if text.len() <= MAX_DEPTH && !text.iter().any(|&b| b == b'\\' || b.is_ascii_digit()) {
        return true;
    }
    let (mut in_string, mut escaped) = (false, false);
    let (mut depth, mut digits) = (0usize, 0usize);
    for &byte in text {
        if in_string {
            if escaped {
                if byte == b'u' {
                    return false;
                }
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'e' | b'E' if digits > 0 => return false,
            _ => {}
        }
        digits = if byte.is_ascii_digit() { digits + 1 } else { 0 };
        if digits > MAX_DIGITS {
            return false;
        }
    }
    true
}

/// An id the `Value` path accepts: a string, or an integer in the i64 range.
fn valid_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<RequestId, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = RequestId;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an i64 integer")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RequestId, E> {
            Ok(RequestId::String(v.to_owned()))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RequestId, E> {
            Ok(RequestId::Integer(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RequestId, E> {
            i64::try_from(v)
                .map(RequestId::Integer)
                .map_err(|_| E::custom("id out of the i64 range"))
        }
    }
    deserializer.deserialize_any(Visitor)
}
