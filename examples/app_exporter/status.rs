//! The application's status: a flat JSON object, read by a small parser that rejects anything
//! else without panicking.

use crate::Health;

#[derive(Debug, PartialEq)]
enum Json {
    Number(f64),
    Str(String),
    /// `true`, `false` or `null`: accepted, not used.
    Literal,
}

/// Parses a flat JSON object whose values are numbers, strings, booleans or null.
fn parse_flat_json(text: &str) -> Result<Vec<(String, Json)>, String> {
    let invalid = |what: &str| format!("invalid JSON: {what}");
    let mut rest = text
        .trim_start()
        .strip_prefix('{')
        .ok_or_else(|| invalid("expected '{'"))?;
    let mut fields = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}').filter(|_| fields.is_empty()) {
            rest = after;
            break;
        }
        let (key, after) = json_string(rest).map_err(|e| invalid(&e))?;
        let after = after
            .trim_start()
            .strip_prefix(':')
            .ok_or_else(|| invalid("expected ':'"))?;
        let (value, after) = json_value(after.trim_start()).map_err(|e| invalid(&e))?;
        fields.push((key, value));
        let after = after.trim_start();
        if let Some(after) = after.strip_prefix('}') {
            rest = after;
            break;
        }
        rest = after
            .strip_prefix(',')
            .ok_or_else(|| invalid("expected ',' or '}'"))?;
    }
    match rest.trim() {
        "" => Ok(fields),
        _ => Err(invalid("trailing data after the object")),
    }
}

/// A JSON string at the start of `text`, and the text after it.
fn json_string(text: &str) -> Result<(String, &str), String> {
    let inner = text.strip_prefix('"').ok_or("expected a string")?;
    let (mut out, mut chars) = (String::new(), inner.char_indices());
    while let Some((i, c)) = chars.next() {
        let escape = match c {
            '"' => return Ok((out, &inner[i + 1..])),
            '\\' => chars.next().map_or('?', |(_, escape)| escape),
            c => {
                out.push(c);
                continue;
            }
        };
        out.push(match escape {
            '"' | '\\' | '/' => escape,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                let code = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\u escape")?;
                char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            _ => return Err("bad escape in string".into()),
        });
    }
    Err("unterminated string".into())
}

/// A number, `true`, `false` or `null` (or a string) at the start of `text`, and the rest.
fn json_value(text: &str) -> Result<(Json, &str), String> {
    if text.starts_with('"') {
        return json_string(text).map(|(string, rest)| (Json::Str(string), rest));
    }
    let token_end = text.find(|c: char| !c.is_ascii_alphanumeric() && !"+-.".contains(c));
    let (token, rest) = text.split_at(token_end.unwrap_or(text.len()));
    let number = token.parse::<f64>().ok().filter(|n| n.is_finite());
    // Rust also parses "inf", "NaN", "+1" and ".5", which JSON does not allow.
    let json_number = token.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    let value = match (token, number) {
        ("true" | "false" | "null", _) => Json::Literal,
        (_, Some(number)) if json_number => Json::Number(number),
        _ => {
            let found: String = text.chars().take(token.len().clamp(1, 20)).collect();
            return Err(format!(
                "expected a string, number, bool or null, found {found:?}"
            ));
        }
    };
    Ok((value, rest))
}

#[derive(Debug)]
pub(crate) struct AppStatus {
    pub(crate) requests_current: i64,
    pub(crate) requests_pending: i64,
    pub(crate) uptime_seconds: f64,
    pub(crate) health: Health,
}

/// Reads the application's status from its JSON body; other fields are ignored.
pub(crate) fn parse_status(body: &str) -> Result<AppStatus, String> {
    let fields = parse_flat_json(body)?;
    let field = |name: &str| match fields.iter().rev().find(|(key, _)| key == name) {
        Some((_, value)) => Ok(value),
        None => Err(format!("missing field {name:?}")),
    };
    let number = |name: &str| match field(name)? {
        Json::Number(number) => Ok(*number),
        other => Err(format!("field {name:?} is {other:?}, not a number")),
    };
    let integer = |name: &str| match number(name)? {
        n if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(n as i64),
        n => Err(format!("field {name:?} is {n:?}, not an integer")),
    };
    Ok(AppStatus {
        requests_current: integer("requests_current")?,
        requests_pending: integer("requests_pending")?,
        uptime_seconds: number("uptime_seconds")?,
        health: match field("health")? {
            Json::Str(s) if s.eq_ignore_ascii_case("healthy") => Health::Healthy,
            Json::Str(s) if s.eq_ignore_ascii_case("unhealthy") => Health::Unhealthy,
            other => return Err(format!("field \"health\" is {other:?}, not (un)healthy")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_client::{http_target, parse_http_response};

    #[test]
    fn parses_flat_json() {
        let text = r#" {"requests_current": 4, "requests_pending":0, "uptime_seconds": 104.914734,
                        "health": "healthy", "note": "a\"b\\c\u00e9\n", "ok": true, "x": null} "#;
        let fields = parse_flat_json(text).unwrap();
        assert_eq!(fields[0], ("requests_current".into(), Json::Number(4.0)));
        assert_eq!(fields[2].1, Json::Number(104.914734));
        assert_eq!(fields[4], ("note".into(), Json::Str("a\"b\\cé\n".into())));
        assert_eq!((fields.len(), &fields[5].1), (7, &Json::Literal));
        assert_eq!(parse_flat_json("{ }"), Ok(vec![]));
        let status = parse_status(text).unwrap();
        assert_eq!(
            (status.requests_current, status.health),
            (4, Health::Healthy)
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let good = r#"{"requests_current": 4, "requests_pending": 1, "uptime_seconds": 1.5,
                       "health": "unhealthy", "é": "\u00e9"}"#;
        assert_eq!(parse_status(good).unwrap().health, Health::Unhealthy);
        for end in (0..good.len()).filter(|&end| good.is_char_boundary(end)) {
            assert!(parse_status(&good[..end]).is_err(), "{}", &good[..end]);
        }
        // One case a line; the first is the empty text.
        let bad = r#"
            []
            {"a": {}}
            {"a": [1]}
            {"a": é}
            {"a": 1,}
            {,}
            {"a" 1}
            {"a": 1e999}
            {"a": --1}
            {"a": +1}
            {"a": NaN}
            {"a": "\u12"}
            {"a": "\q"}
            {"a": tru}
            {} {}
            <html>"#;
        for text in bad.lines() {
            assert!(parse_flat_json(text).is_err(), "{text}");
        }
        let error = parse_status(&good.replace("4,", "4.5,")).unwrap_err();
        assert!(error.contains("requests_current"), "{error}");
        let error = parse_status(&good.replace("\"unhealthy\"", "2")).unwrap_err();
        assert!(error.contains("health"), "{error}");
        let error = parse_status(r#"{"health": "healthy"}"#).unwrap_err();
        assert!(error.contains("missing field"), "{error}");
    }

    #[test]
    fn random_input_never_panics() {
        let alphabet = "{}[]\":,\\u0123456789-+.eE tfn\r\nHTP/ é";
        let alphabet: Vec<char> = alphabet.chars().collect();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5000 {
            let text: String = (0..seed % 48)
                .map(|_| {
                    // xorshift64: a fixed sequence, so a failure reproduces.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[seed as usize % alphabet.len()]
                })
                .collect();
            let _ = (parse_status(&text), parse_http_response(text.as_bytes()));
            let _ = http_target(&format!("http://{text}"));
        }
    }
}
