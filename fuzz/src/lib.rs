//! What the fuzz targets check promexport against, written independently of it: a strict parser
//! of both exposition formats (to the grammar of the specifications, not to promexport's code),
//! base64 and percent-encoding.

pub mod exposition;

/// Standard base64 with padding (RFC 4648 §4), as browsers and Prometheus send basic auth.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from_be_bytes([0, group[0], group[1], group[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every byte of `text` but unreserved ones as `%XX` (RFC 3986), as a client builds a query.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Splits fuzz input at each 0xFF byte (which UTF-8 never holds) into `N` strings; missing
/// parts are empty, invalid UTF-8 is replaced.
pub fn split_input<const N: usize>(data: &[u8]) -> [String; N] {
    let mut parts = data.split(|b| *b == 0xFF);
    std::array::from_fn(|_| String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(percent_encode("a_b-c.d~"), "a_b-c.d~");
        assert_eq!(percent_encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }

    #[test]
    fn input_is_split_at_0xff() {
        let [a, b, c] = split_input::<3>(b"one\xFFtwo");
        assert_eq!((a.as_str(), b.as_str(), c.as_str()), ("one", "two", ""));
    }
}
