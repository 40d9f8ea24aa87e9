//! Metric and label names beyond the legacy character set: how they are written under each
//! escaping scheme a scraper can ask for (`escaping=` in `Accept`, Prometheus 3).
//!
//! A name that is legacy-valid (`[a-zA-Z_:][a-zA-Z0-9_:]*` for metrics, `[a-zA-Z_][a-zA-Z0-9_]*`
//! for labels) is written as it is in every scheme. Another is quoted under
//! [`Escaping::AllowUtf8`] (`{"http.server.duration",...}`, `"error.message"="x"`) and
//! escaped otherwise, as client_golang's `model.EscapeMetricFamily` does. Pre-escaped label
//! lists keep such names quoted, so that `allow-utf-8` copies them verbatim; the other schemes
//! rewrite the lists that hold one.

use super::text::{TextSink, escape_label_value_into};
use std::borrow::Cow;

/// How metric and label names outside the legacy character set are sent: the `escaping=`
/// parameter of a scraper's `Accept` header (Prometheus 3), echoed in the `Content-Type`.
///
/// Names that are already legacy-valid are never changed.
///
/// ```
/// use promexport::Escaping;
/// assert_eq!(Escaping::Underscores.escape_name("http.server.duration"), "http_server_duration");
/// assert_eq!(Escaping::Dots.escape_name("http.server_duration"), "http_dot_server__duration");
/// assert_eq!(Escaping::Values.escape_name("http.server"), "U__http_2e_server");
/// assert_eq!(Escaping::AllowUtf8.escape_name("http.server"), "http.server");
/// assert_eq!(Escaping::from_param("dots"), Some(Escaping::Dots));
/// assert_eq!(Escaping::default(), Escaping::Underscores);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Escaping {
    /// `allow-utf-8`: names as they are, quoted where the legacy syntax cannot hold them.
    AllowUtf8,
    /// `underscores` (the default when a scraper names none): every character outside the
    /// legacy set becomes `_`.
    #[default]
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, any other character outside the legacy set
    /// `__` (as client_golang's `model.EscapeName`).
    Dots,
    /// `values`: a `U__` prefix, `__` for `_`, and `_<hex code point>_` for each character
    /// outside the legacy set.
    Values,
}

impl Escaping {
    /// The scheme's name in `escaping=`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }

    /// The scheme an `escaping=` value names (as client_golang spells them), or `None`.
    pub fn from_param(value: &str) -> Option<Escaping> {
        match value {
            "allow-utf-8" => Some(Escaping::AllowUtf8),
            "underscores" => Some(Escaping::Underscores),
            "dots" => Some(Escaping::Dots),
            "values" => Some(Escaping::Values),
            _ => None,
        }
    }

    /// `name` escaped with this scheme, as client_golang's `model.EscapeName` does it (`dots`
    /// changes the `_` of a legacy-valid name too; the encoders never call it on one).
    pub fn escape_name(self, name: &str) -> Cow<'_, str> {
        escape(name, self, legacy_metric_char)
    }
}

/// `[a-zA-Z_:]`, and digits past the first character.
const fn legacy_metric_char(c: char, at: usize) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (c.is_ascii_digit() && at > 0)
}

/// `[a-zA-Z_]`, and digits past the first character.
const fn legacy_label_char(c: char, at: usize) -> bool {
    c != ':' && legacy_metric_char(c, at)
}

const fn all_legacy(name: &str, label: bool) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at] as char;
        // A byte of a multi-byte character is never legacy; ASCII maps to its `char`.
        let legacy = if label {
            legacy_label_char(c, at)
        } else {
            legacy_metric_char(c, at)
        };
        if !legacy {
            return false;
        }
        at += 1;
    }
    true
}

/// Whether `name` is a legacy metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), written as it is.
pub(crate) const fn is_legacy_metric_name(name: &str) -> bool {
    all_legacy(name, false)
}

/// Whether `name` is a legacy label name (`[a-zA-Z_][a-zA-Z0-9_]*`), written as it is.
pub(crate) const fn is_legacy_label_name(name: &str) -> bool {
    all_legacy(name, true)
}

/// Whether every one of `names` is a legacy label name (usable in constants).
pub(crate) const fn legacy_label_names(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if !is_legacy_label_name(names[i]) {
            return false;
        }
        i += 1;
    }
    true
}

fn escape(name: &str, scheme: Escaping, legacy: fn(char, usize) -> bool) -> Cow<'_, str> {
    let is_legacy = !name.is_empty() && name.char_indices().all(|(at, c)| legacy(c, at));
    match scheme {
        Escaping::AllowUtf8 => return Cow::Borrowed(name),
        Escaping::Underscores | Escaping::Values if is_legacy || name.is_empty() => {
            return Cow::Borrowed(name);
        }
        Escaping::Dots if name.is_empty() => return Cow::Borrowed(name),
        _ => {}
    }
    let mut out = String::with_capacity(name.len() + 8);
    if scheme == Escaping::Values {
        out.push_str("U__");
    }
    for (at, c) in name.char_indices() {
        match scheme {
            Escaping::Underscores if legacy(c, at) => out.push(c),
            Escaping::Underscores => out.push('_'),
            Escaping::Dots | Escaping::Values if c == '_' => out.push_str("__"),
            Escaping::Dots if c == '.' => out.push_str("_dot_"),
            Escaping::Dots | Escaping::Values if legacy(c, at) => out.push(c),
            Escaping::Dots => out.push_str("__"),
            _ => {
                out.push('_');
                out.push_str(&format!("{:x}", u32::from(c)));
                out.push('_');
            }
        }
    }
    Cow::Owned(out)
}

/// A label name escaped with `scheme` (a `:` is escaped too: no label name may hold one).
pub(crate) fn escape_label_name(name: &str, scheme: Escaping) -> Cow<'_, str> {
    escape(name, scheme, legacy_label_char)
}

/// Writes the name of a family that is not legacy-valid, with `suffix` (`_total`), as a
/// `# HELP`/`# TYPE`/`# UNIT` line or a sample outside braces names it: quoted under
/// `allow-utf-8`, escaped otherwise (the suffix after the escaped name, as client_golang
/// appends `_bucket` to an escaped histogram name).
pub(crate) fn write_utf8_metric_name(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    scheme: Escaping,
) {
    if scheme == Escaping::AllowUtf8 {
        out.push(b'"');
        escape_label_value_into(out, name);
        escape_label_value_into(out, suffix);
        out.push(b'"');
    } else {
        out.push_text(&scheme.escape_name(name));
        out.push_text(suffix);
    }
}

/// Writes a label name: as it is when legacy-valid, otherwise quoted (`allow-utf-8`) or
/// escaped.
pub(crate) fn write_label_name(out: &mut impl TextSink, name: &str, scheme: Escaping) {
    if is_legacy_label_name(name) {
        out.push_text(name);
    } else if scheme == Escaping::AllowUtf8 {
        quote_label_name(out, name);
    } else {
        out.push_text(&escape_label_name(name, scheme));
    }
}

/// `"name"`, as a pre-escaped list keeps a label name that is not legacy-valid.
pub(crate) fn quote_label_name(out: &mut impl TextSink, name: &str) {
    out.push_text("\"");
    escape_label_value_into(out, name);
    out.push_text("\"");
}

/// Whether a pre-escaped list may hold a quoted label name. Never wrong when it holds one (the
/// first name quoted, or `","` between two labels); rarely true when it does not (a value of
/// `,`), which costs only the rewrite that changes nothing.
pub(crate) fn may_hold_quoted_names(list: &str) -> bool {
    list.starts_with('"') || list.contains("\",\"")
}

/// One label of a pre-escaped list: its name (unquoted and unescaped when it was quoted), and
/// its value still escaped, without its quotes.
pub(crate) struct ListLabel<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) escaped_value: &'a str,
}

/// The labels of a pre-escaped `name="value",...` list, or `None` once it is malformed.
pub(crate) fn list_labels(list: &str) -> impl Iterator<Item = Option<ListLabel<'_>>> {
    let mut rest = list;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let label = next_label(&mut rest);
        if label.is_none() {
            rest = "";
        }
        Some(label)
    })
}

fn next_label<'a>(rest: &mut &'a str) -> Option<ListLabel<'a>> {
    let name = if let Some(quoted) = rest.strip_prefix('"') {
        let end = closing_quote(quoted)?;
        *rest = &quoted[end + 1..];
        Cow::Owned(unescape(&quoted[..end]))
    } else {
        let end = rest.find('=')?;
        let name = &rest[..end];
        *rest = &rest[end..];
        Cow::Borrowed(name)
    };
    let value = rest.strip_prefix("=\"")?;
    let end = closing_quote(value)?;
    *rest = &value[end + 1..];
    if let Some(after_comma) = rest.strip_prefix(',') {
        *rest = after_comma;
    }
    Some(ListLabel {
        name,
        escaped_value: &value[..end],
    })
}

/// Where the first `"` not escaped by a `\` is.
fn closing_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return Some(at),
            _ => at += 1,
        }
    }
    None
}

/// A label value (or quoted name) with the text formats' escapes undone.
pub(crate) fn unescape(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Copies a pre-escaped list with its quoted names escaped by `scheme` (not `allow-utf-8`,
/// which copies lists verbatim). A malformed list (not one a label set encoder wrote) is
/// copied as far as it parses.
pub(crate) fn write_escaped_list(out: &mut Vec<u8>, list: &str, scheme: Escaping) {
    let mut comma = false;
    for label in list_labels(list).map_while(|label| label) {
        if comma {
            out.push(b',');
        }
        out.push_text(&escape_label_name(&label.name, scheme));
        out.push_text("=\"");
        out.push_text(label.escaped_value);
        out.push(b'"');
        comma = true;
    }
}

#[cfg(test)]
mod tests;
