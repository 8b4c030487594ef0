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
    let mut at = Cursor { line, at: 0 };
    at.eat(b'{')?;
    let (mut id, mut method, mut params, mut jsonrpc) = (None, None, None, false);
    loop {
        at.eat(b'"')?;
        let key = at.plain_string()?;
        at.eat(b':')?;
        match key {
            "id" if id.is_none() => id = Some(at.id()?),
            "method" if method.is_none() => {
                at.eat(b'"')?;
                method = Some(at.plain_string()?);
            }
            "params" if params.is_none() => params = Some(at.flat_object()?),
            "jsonrpc" if !jsonrpc => {
                at.eat(b'"')?;
                at.plain_string()?;
                jsonrpc = true;
            }
            _ => return None,
        }
        match at.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    if at.at != line.len() {
        return None;
    }
    Some(Request {
        id: id?,
        method: method?.into(),
        params,
    })
}

struct Cursor<'a> {
    line: &'a [u8],
    at: usize,
}

/// The longest integer id taken (18 digits always fit an `i64`).
const MAX_ID_DIGITS: usize = 18;

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Option<u8> {
        let byte = *self.line.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn eat_all(&mut self, bytes: &[u8]) -> Option<()> {
        let rest = self.line.get(self.at..)?;
        rest.starts_with(bytes).then(|| self.at += bytes.len())
    }

    /// After an opening quote: the text up to the closing one, printable ASCII without a
    /// backslash (so no escape and nothing a JSON string may not hold).
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.at;
        loop {
            match self.next()? {
                b'"' => break,
                b'\\' => return None,
                byte if !(0x20..=0x7e).contains(&byte) => return None,
                _ => {}
            }
        }
        std::str::from_utf8(&self.line[start..self.at - 1]).ok()
    }

    /// A plain string, or a non-negative integer without a leading zero.
    fn id(&mut self) -> Option<RequestId> {
        if self.line.get(self.at) == Some(&b'"') {
            self.at += 1;
            return self.plain_string().map(|s| RequestId::String(s.to_owned()));
        }
        let start = self.at;
        let mut value: i64 = 0;
        while let Some(&byte) = self.line.get(self.at)
            && byte.is_ascii_digit()
        {
            if self.at - start == MAX_ID_DIGITS {
                return None;
            }
            value = value * 10 + i64::from(byte - b'0');
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.line[start] == b'0';
        (digits > 0 && !leading_zero).then_some(RequestId::Integer(value))
    }

    /// An object of plain keys whose values are `true`, `false`, `null` or plain strings; its
    /// text.
    fn flat_object(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.eat(b'{')?;
        if self.line.get(self.at) == Some(&b'}') {
            self.at += 1;
        } else {
            loop {
                self.eat(b'"')?;
                self.plain_string()?;
                self.eat(b':')?;
                match self.line.get(self.at)? {
                    b't' => self.eat_all(b"true")?,
                    b'f' => self.eat_all(b"false")?,
                    b'n' => self.eat_all(b"null")?,
                    b'"' => {
                        self.at += 1;
                        self.plain_string()?;
                    }
                    _ => return None,
                }
                match self.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        std::str::from_utf8(&self.line[start..self.at]).ok()
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
