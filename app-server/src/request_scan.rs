//! The compact request line most clients send, read by a byte scan (issue 16: serde's struct
//! read was a fifth of a poll's cost): `{"id":7,"method":"getAuthStatus","params":{"includeToken":true}}`,
//! its members `id`, `method`, `params` and `jsonrpc` in any order, each at most once, no
//! whitespace, no escapes. The scan takes a line only when it is valid JSON that every other
//! read would read alike; anything it does not know (a negative id, a number in params, an
//! escape, a nested value, a duplicate) returns `None` and goes to the full read.

use protocol::RequestId;

use crate::request_line::Request;

/// `line` as a request, when it is of the plain shape above.
pub(crate) fn scan(line: &[u8]) -> Option<Request<'_>> {
    // Once for the whole line; every piece taken below ends at an ASCII byte.
    let text = std::str::from_utf8(line).ok()?;
    let mut at = Cursor { text, at: 0 };
    at.eat(b"{")?;
    let (mut id, mut method, mut params, mut jsonrpc) = (None, None, None, false);
    loop {
        if id.is_none() && at.eat(br#""id":"#).is_some() {
            id = Some(at.id()?);
        } else if method.is_none() && at.eat(br#""method":""#).is_some() {
            method = Some(at.plain_string()?);
        } else if params.is_none() && at.eat(br#""params":"#).is_some() {
            params = Some(at.flat_object()?);
        } else if !jsonrpc && at.eat(br#""jsonrpc":""#).is_some() {
            at.plain_string()?;
            jsonrpc = true;
        } else {
            return None;
        }
        match at.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    if at.at != text.len() {
        return None;
    }
    Some(Request {
        id: id?,
        method: method?.into(),
        params,
    })
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

/// The longest integer id taken (18 digits always fit an `i64`).
const MAX_ID_DIGITS: usize = 18;

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.at..).unwrap_or_default()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = *self.rest().first()?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, bytes: &[u8]) -> Option<()> {
        self.rest()
            .starts_with(bytes)
            .then(|| self.at += bytes.len())
    }

    /// After an opening quote: the text up to the closing one, printable ASCII without a
    /// backslash (so no escape and nothing a JSON string may not hold).
    fn plain_string(&mut self) -> Option<&'a str> {
        let len = self
            .rest()
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || !(0x20..=0x7e).contains(&b))?;
        if self.rest()[len] != b'"' {
            return None;
        }
        let start = self.at;
        self.at += len + 1;
        self.text.get(start..start + len)
    }

    /// A plain string, or a non-negative integer without a leading zero.
    fn id(&mut self) -> Option<RequestId> {
        if self.eat(b"\"").is_some() {
            return self.plain_string().map(|s| RequestId::String(s.to_owned()));
        }
        let digits = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let leading_zero = digits > 1 && self.rest()[0] == b'0';
        if digits == 0 || digits > MAX_ID_DIGITS || leading_zero {
            return None;
        }
        let value = self.text.get(self.at..self.at + digits)?.parse().ok()?;
        self.at += digits;
        Some(RequestId::Integer(value))
    }

    /// An object of plain keys whose values are `true`, `false`, `null` or plain strings; its
    /// text.
    fn flat_object(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.eat(b"{")?;
        if self.eat(b"}").is_none() {
            loop {
                self.eat(b"\"")?;
                self.plain_string()?;
                self.eat(b":")?;
                let value = self.eat(b"true").or_else(|| self.eat(b"false"));
                let value = value.or_else(|| self.eat(b"null"));
                if value.is_none() {
                    self.eat(b"\"")?;
                    self.plain_string()?;
                }
                match self.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.text.get(start..self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::scan;
    use crate::transport::{classify, classify_value};

    /// Lines of the plain shape, which the scan must take.
    const PLAIN: [&str; 5] = [
        r#"{"id":1,"method":"getAuthStatus","params":{"includeToken":true}}"#,
        r#"{"method":"getAuthStatus","id":"a-1","params":{"includeToken":false,"refreshToken":null}}"#,
        r#"{"jsonrpc":"2.0","id":0,"method":"account/read","params":{}}"#,
        r#"{"id":123456789012345678,"method":"userInfo"}"#,
        r#"{"params":{"x":"plain text"},"method":"m","id":7}"#,
    ];

    #[test]
    fn the_plain_shape_is_scanned() {
        for line in PLAIN {
            assert!(scan(line.as_bytes()).is_some(), "{line}");
        }
    }

    #[test]
    fn what_the_scan_does_not_know_is_left_to_the_full_read() {
        for line in [
            r#"{"id":-1,"method":"m"}"#,
            r#"{"id":01,"method":"m"}"#,
            r#"{"id":1234567890123456789,"method":"m"}"#,
            r#"{"id":1,"method":"m","params":{"x":1}}"#,
            r#"{"id":1,"method":"m","params":{"x":{}}}"#,
            r#"{"id":1,"method":"\u0067"}"#,
            r#"{"id":1,"id":2,"method":"m"}"#,
            r#"{"id":1,"method":"m","trace":"t"}"#,
            r#"{"id":1,"method":"m"} "#,
            r#"{ "id":1,"method":"m"}"#,
            r#"{"method":"m"}"#,
        ] {
            assert!(scan(line.as_bytes()).is_none(), "{line}");
        }
    }

    /// Every line one edit away from a plain line (a byte replaced, deleted or inserted) is
    /// classified exactly as through a `Value`, whichever read takes it.
    #[test]
    fn lines_near_the_plain_shape_classify_as_through_a_value() {
        let bytes: &[u8] = b"\"\\{}[],:01-9 aeltrunfs\x01\xff\xc3";
        let mut checked = 0;
        for line in PLAIN {
            let line = line.as_bytes();
            let mut variants = Vec::new();
            for i in 0..=line.len() {
                if i < line.len() {
                    let mut deleted = line.to_vec();
                    deleted.remove(i);
                    variants.push(deleted);
                }
                for &b in bytes {
                    if i < line.len() {
                        let mut replaced = line.to_vec();
                        replaced[i] = b;
                        variants.push(replaced);
                    }
                    let mut inserted = line.to_vec();
                    inserted.insert(i, b);
                    variants.push(inserted);
                }
            }
            for variant in &variants {
                assert_eq!(
                    classify(variant),
                    classify_value(variant),
                    "{}",
                    String::from_utf8_lossy(variant)
                );
                checked += 1;
            }
        }
        assert!(checked > 10_000);
    }
}
