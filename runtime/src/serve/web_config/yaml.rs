//! The small YAML subset a web config uses: nested maps of scalars, and lists of scalars.

use crate::Error;
use std::path::Path;

/// A YAML value of the subset: nested maps (each key with its line), scalars, lists of scalars.
pub(super) enum Node {
    Map(Vec<(String, usize, Node)>),
    Scalar(String),
    List,
}

struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// An error at `line` of the file at `path`.
pub(super) fn config_error(path: &Path, line: usize, message: impl std::fmt::Display) -> Error {
    Error::WebConfig(format!("{}:{line}: {message}", path.display()))
}

/// `text` without its comment: a `#` at the start or after a space, outside quoted scalars.
/// A quote opens a quoted scalar only where a scalar starts (after `: `, `- `, `[`, `,` or at
/// the start), so the apostrophe of `bob's.crt` is just a character.
fn strip_comment(text: &str) -> &str {
    // Every byte looked at is ASCII, never part of a multi-byte character.
    let bytes = text.as_bytes();
    let mut quote = None;
    let mut scalar_starts = true;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        match (quote, byte) {
            (Some(b'"'), b'\\') => i += 1,
            // `''` inside single quotes is an apostrophe.
            (Some(b'\''), b'\'') if next == Some(b'\'') => i += 1,
            (Some(q), _) if byte == q => {
                quote = None;
                scalar_starts = false;
            }
            (Some(_), _) => {}
            (None, b'#') if i == 0 || matches!(bytes[i - 1], b' ' | b'\t') => return &text[..i],
            (None, b'"' | b'\'') if scalar_starts => quote = Some(byte),
            (None, b' ' | b'\t') => {}
            (None, b':' | b'-') => scalar_starts = matches!(next, None | Some(b' ')),
            (None, b'[' | b',') => scalar_starts = true,
            (None, _) => scalar_starts = false,
        }
        i += 1;
    }
    text
}

/// A scalar as written (trimmed), without its quotes: `'...'` with `''` for an apostrophe,
/// `"..."` with YAML's backslash escapes.
fn unquote(value: &str) -> Result<String, String> {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return Ok(inner.replace("''", "'"));
    }
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => unescape(inner),
        None => Ok(value.to_owned()),
    }
}

/// The text of a double-quoted scalar (YAML 1.2, 5.7).
fn unescape(inner: &str) -> Result<String, String> {
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let escape = chars.next().ok_or("a `\\` ends the double-quoted string")?;
        let mut code = |digits: usize| -> Result<char, String> {
            let hex: String = chars.by_ref().take(digits).collect();
            u32::from_str_radix(&hex, 16)
                .ok()
                .filter(|_| hex.len() == digits)
                .and_then(char::from_u32)
                .ok_or(format!("`\\{escape}{hex}` is not a valid escape"))
        };
        text.push(match escape {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' | '\t' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => code(2)?,
            'u' => code(4)?,
            'U' => code(8)?,
            other => {
                return Err(format!(
                    "unknown escape `\\{other}` in a double-quoted string"
                ));
            }
        });
    }
    Ok(text)
}

/// Parses `text`, the content of the file at `path` (named in errors).
pub(super) fn parse_yaml(path: &Path, text: &str) -> Result<Node, Error> {
    // A byte order mark is not part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        if raw.trim_start().starts_with('\t') || raw.starts_with('\t') {
            return Err(config_error(
                path,
                number,
                "tabs are not allowed for indentation",
            ));
        }
        let content = strip_comment(raw).trim_end();
        if content.trim().is_empty() || content.trim() == "---" {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        lines.push(Line {
            number,
            indent,
            text: content.trim_start(),
        });
    }
    let mut at = 0;
    let node = parse_map(path, &lines, &mut at, 0)?;
    match lines.get(at) {
        Some(line) => Err(config_error(path, line.number, "unexpected indentation")),
        None => Ok(node),
    }
}

fn parse_map(path: &Path, lines: &[Line], at: &mut usize, indent: usize) -> Result<Node, Error> {
    let mut entries = Vec::new();
    while let Some(line) = lines.get(*at).filter(|l| l.indent == indent) {
        let Some((key, value)) = line.text.split_once(':') else {
            return Err(config_error(
                path,
                line.number,
                format!("expected `key: value`, found {:?}", line.text),
            ));
        };
        let unquoted = |text: &str| unquote(text).map_err(|e| config_error(path, line.number, e));
        let (key, value) = (unquoted(key)?, value.trim());
        *at += 1;
        let node = match value {
            "" => match lines.get(*at).filter(|next| next.indent > indent) {
                Some(next) if next.text.starts_with("- ") || next.text == "-" => {
                    let list_indent = next.indent;
                    while let Some(item) = lines.get(*at).filter(|l| l.indent == list_indent) {
                        if !item.text.starts_with('-') {
                            return Err(config_error(
                                path,
                                item.number,
                                "expected a list item (`- value`)",
                            ));
                        }
                        *at += 1;
                    }
                    Node::List
                }
                Some(next) => parse_map(path, lines, at, next.indent)?,
                None => Node::Scalar(String::new()),
            },
            "{}" => Node::Map(Vec::new()),
            list if list.starts_with('[') && list.ends_with(']') => Node::List,
            scalar => Node::Scalar(unquoted(scalar)?),
        };
        if entries
            .iter()
            .any(|(k, _, _): &(String, usize, Node)| *k == key)
        {
            return Err(config_error(
                path,
                line.number,
                format!("`{key}` is given twice"),
            ));
        }
        entries.push((key, line.number, node));
    }
    Ok(Node::Map(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar of `key` in a one-line document.
    fn scalar(line: &str) -> Result<String, String> {
        match parse_yaml(Path::new("web.yml"), line).map_err(|e| e.to_string())? {
            Node::Map(mut entries) => match entries.pop() {
                Some((_, _, Node::Scalar(value))) => Ok(value),
                _ => Err("not a scalar".to_owned()),
            },
            _ => Err("not a map".to_owned()),
        }
    }

    #[test]
    fn double_quoted_scalars_are_unescaped() {
        assert_eq!(
            scalar(r#"cert_file: "C:\\certs\\a.crt""#).unwrap(),
            r"C:\certs\a.crt"
        );
        assert_eq!(
            scalar(r#"a: "say \"hi\"\t\u00e9\x41\U0001F600""#).unwrap(),
            "say \"hi\"\t\u{e9}A\u{1F600}"
        );
        assert_eq!(scalar(r#"a: "x # y"  # comment"#).unwrap(), "x # y");
        assert_eq!(scalar(r#"a: "a\" # b""#).unwrap(), "a\" # b");
        let error = scalar(r#"a: "\q""#).unwrap_err();
        assert!(error.contains("web.yml:1: unknown escape `\\q`"), "{error}");
        let error = scalar(r#"a: "\u12""#).unwrap_err();
        assert!(
            error.contains("web.yml:1: `\\u12` is not a valid escape"),
            "{error}"
        );
    }

    #[test]
    fn single_quoted_scalars_keep_backslashes() {
        assert_eq!(scalar(r"a: 'C:\certs'").unwrap(), r"C:\certs");
        assert_eq!(scalar("a: 'it''s' # comment").unwrap(), "it's");
    }

    #[test]
    fn apostrophes_in_plain_scalars_do_not_hide_comments() {
        assert_eq!(scalar("cert_file: bob's.crt  # note").unwrap(), "bob's.crt");
        assert_eq!(scalar("cert_file: bob's.crt").unwrap(), "bob's.crt");
        assert_eq!(scalar("a: x#y").unwrap(), "x#y", "no space: not a comment");
        assert_eq!(scalar("a: say \"hi\" # c").unwrap(), "say \"hi\"");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        assert_eq!(scalar("\u{feff}min_version: TLS13").unwrap(), "TLS13");
        let Ok(Node::Map(entries)) = parse_yaml(Path::new("web.yml"), "\u{feff}a: b\n") else {
            panic!("not a map");
        };
        assert_eq!(entries[0].0, "a");
    }
}
