//! Byte-level pieces shared by both text formats: escaping and number formatting.

use super::{Format, Value};

/// Appends `value` to `out`, escaping `\`, `"` and newline as both text formats require.
pub(crate) fn escape_label_value_into(out: &mut String, value: &str) {
    escape_into(out, value, true);
}

fn escape_into(out: &mut String, value: &str, quote: bool) {
    let needs_escape = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    if !value.bytes().any(needs_escape) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Appends HELP text: text 0.0.4 escapes `\` and newline, OpenMetrics also `"`.
pub(super) fn write_help(out: &mut String, help: &str, format: Format) {
    escape_into(out, help, format == Format::OpenMetrics);
}

pub(super) fn write_value(out: &mut String, value: Value) {
    match value {
        Value::U64(v) => out.push_str(itoa::Buffer::new().format(v)),
        Value::I64(v) => out.push_str(itoa::Buffer::new().format(v)),
        Value::F64(v) => write_f64(out, v),
    }
}

/// Appends a float as Prometheus parses it: `NaN`, `+Inf`, `-Inf`, or the shortest round-trip form.
pub(crate) fn write_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

/// Writes one label value, escaped, into a pre-encoded label set.
///
/// Passed to [`LabelValue::encode`](crate::LabelValue::encode); implementations call
/// [`write_str`](Self::write_str) (or `write!`) with the value's text.
#[derive(Debug)]
pub struct LabelValueEncoder<'a> {
    out: &'a mut String,
    escape: bool,
}

impl<'a> LabelValueEncoder<'a> {
    pub(crate) fn new(out: &'a mut String) -> Self {
        LabelValueEncoder { out, escape: true }
    }

    /// An encoder that collects the unescaped text, for a caller that escapes it later.
    pub(crate) fn raw(out: &'a mut String) -> Self {
        LabelValueEncoder { out, escape: false }
    }

    /// Appends `text` to the label value, escaping it.
    pub fn write_str(&mut self, text: &str) {
        if self.escape {
            escape_label_value_into(self.out, text);
        } else {
            self.out.push_str(text);
        }
    }
}

impl std::fmt::Write for LabelValueEncoder<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        LabelValueEncoder::write_str(self, text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_what_the_formats_require() {
        let mut out = String::new();
        escape_label_value_into(&mut out, "a\\b\"c\nd é\t");
        assert_eq!(out, "a\\\\b\\\"c\\nd é\t");
        let mut help = String::new();
        write_help(&mut help, "say \"hi\"\\\n", Format::Text);
        assert_eq!(help, "say \"hi\"\\\\\\n");
        let mut help = String::new();
        write_help(&mut help, "say \"hi\"", Format::OpenMetrics);
        assert_eq!(help, "say \\\"hi\\\"");
    }

    #[test]
    fn floats_use_prometheus_spelling() {
        let render = |v| {
            let mut s = String::new();
            write_f64(&mut s, v);
            s
        };
        assert_eq!(render(f64::NAN), "NaN");
        assert_eq!(render(f64::INFINITY), "+Inf");
        assert_eq!(render(f64::NEG_INFINITY), "-Inf");
        assert_eq!(render(0.25), "0.25");
        assert_eq!(render(1.0), "1.0");
    }
}
