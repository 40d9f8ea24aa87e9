//! Log lines as Go's exporters print them (`log/slog` through prometheus/common's `promslog`):
//! `time=... level=INFO source=file.rs:12 msg="..." key=value`, or the same keys in JSON.

use super::flags::{LogFormat, LogLevel};
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the process-wide `tracing` subscriber; false if the program installed one already
/// (its own then wins).
pub(crate) fn install(level: LogLevel, format: LogFormat) -> bool {
    let max_level = match level {
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(max_level)
        .with_writer(std::io::stderr)
        .event_format(SlogFormat { format })
        .finish();
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

struct SlogFormat {
    format: LogFormat,
}

/// The fields of one event: `message` apart, the others in order, each with whether it was
/// a string (quoted in JSON).
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, String, bool)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.others.push((field.name(), value.to_owned(), true));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.others.push((field.name(), format!("{value:?}"), true));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.others.push((field.name(), value.to_string(), false));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.others.push((field.name(), value.to_string(), false));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.others.push((field.name(), value.to_string(), false));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.others.push((field.name(), value.to_string(), false));
    }
}

impl<S, N> FormatEvent<S, N> for SlogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        let level = match *metadata.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN",
            Level::INFO => "INFO",
            Level::DEBUG | Level::TRACE => "DEBUG",
        };
        let file = metadata.file().unwrap_or("?");
        let file = file.rsplit('/').next().unwrap_or(file);
        let source = format!("{file}:{}", metadata.line().unwrap_or(0));
        let time = rfc3339_now();
        let mut line = String::new();
        let fixed = [
            ("time", time.as_str(), true),
            ("level", level, true),
            ("source", source.as_str(), true),
            ("msg", fields.message.as_str(), true),
        ];
        let others = fields
            .others
            .iter()
            .map(|(key, value, quoted)| (*key, value.as_str(), *quoted));
        match self.format {
            LogFormat::Logfmt => {
                for (key, value, _) in fixed.into_iter().chain(others) {
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(key);
                    line.push('=');
                    logfmt_value(&mut line, value);
                }
            }
            LogFormat::Json => {
                line.push('{');
                for (key, value, quoted) in fixed.into_iter().chain(others) {
                    if line.len() > 1 {
                        line.push(',');
                    }
                    json_string(&mut line, key);
                    line.push(':');
                    if quoted {
                        json_string(&mut line, value);
                    } else {
                        line.push_str(value);
                    }
                }
                line.push('}');
            }
        }
        writeln!(writer, "{line}")
    }
}

/// A logfmt value: bare when it has no space, quote, `=` or control character, else quoted
/// as Go's `strconv.Quote` would.
fn logfmt_value(out: &mut String, value: &str) {
    let bare = !value.is_empty()
        && !value
            .chars()
            .any(|c| c == ' ' || c == '"' || c == '=' || c.is_control());
    if bare {
        out.push_str(value);
    } else {
        json_string(out, value);
    }
}

fn json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Now in UTC as `2026-12-01T13:47:07.123Z`.
fn rfc3339_now() -> String {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since_epoch.as_secs(), since_epoch.subsec_millis())
}

fn rfc3339(seconds: u64, millis: u32) -> String {
    let days = (seconds / 86_400) as i64;
    let in_day = seconds % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{logfmt_value, rfc3339};

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_132_827, 123), "2026-12-01T13:47:07.123Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
    }

    #[test]
    fn logfmt_quotes_only_what_needs_it() {
        let mut out = String::new();
        logfmt_value(&mut out, "0.0.0.0:9100");
        out.push(' ');
        logfmt_value(&mut out, "Starting my_exporter");
        out.push(' ');
        logfmt_value(&mut out, "");
        assert_eq!(out, r#"0.0.0.0:9100 "Starting my_exporter" """#);
    }
}
