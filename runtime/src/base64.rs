//! Base64, for the two places HTTP needs it: basic auth credentials and Pushgateway grouping
//! values.

/// `+/` (RFC 4648 §4) for basic auth.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// `-_` (RFC 4648 §5) for URL path segments.
#[cfg_attr(not(feature = "push"), allow(dead_code))]
pub(crate) const URL_SAFE: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes with padding.
#[cfg_attr(not(any(test, feature = "push")), allow(dead_code))]
pub(crate) fn encode(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` for anything else.
#[cfg_attr(not(feature = "web-config"), allow(dead_code))]
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| STANDARD.iter().position(|a| *a == c).map(|p| p as u32);
    let bytes = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let produced = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + produced]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(encode(b"a/b", URL_SAFE), "YS9i");
        assert_eq!(encode(&[0xfb, 0xff], URL_SAFE), "-_8=");
        assert_eq!(encode(b"alice:s3cr3t", STANDARD), "YWxpY2U6czNjcjN0");
        for text in [&b""[..], b"a", b"ab", b"abc", b"\xff\x00\x10"] {
            assert_eq!(decode(&encode(text, STANDARD)).unwrap(), text);
        }
        assert_eq!(decode("!!"), None);
    }
}
