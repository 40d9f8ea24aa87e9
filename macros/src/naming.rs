//! Prometheus naming rules, checked at compile time.

/// Why `name` is not a valid metric name, or `None` if it is: any non-empty UTF-8 (Prometheus 3
/// takes them all, and the encoders escape them for scrapers that do not), except the names
/// Prometheus reserves.
pub(crate) fn metric_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a metric name cannot be empty".to_owned());
    }
    if name.starts_with("__") {
        return Some(format!(
            "metric name `{name}` starts with `__`, which Prometheus reserves for internal use; remove the leading underscores"
        ));
    }
    if name.contains(':') {
        return Some(format!(
            "metric name `{name}` contains `:`, which Prometheus reserves for recording rules; use `_` instead"
        ));
    }
    None
}

/// Why `name` is not a valid label name, or `None` if it is: any non-empty UTF-8 that does not
/// start with `__`.
pub(crate) fn label_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a label name cannot be empty".to_owned());
    }
    if name.starts_with("__") {
        return Some(format!(
            "label name `{name}` starts with `__`, which Prometheus reserves for internal use; rename it"
        ));
    }
    None
}

/// Why the label name `name`, written as a Rust identifier (a const label, a label of
/// `#[instrument(labels(..))]`), cannot be one: those are copied into pre-escaped lists as they
/// are, so they keep to the legacy `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn ident_label_name_problem(name: &str) -> Option<String> {
    if let Some(problem) = label_name_problem(name) {
        return Some(problem);
    }
    let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if !name.chars().all(valid_char) {
        return Some(format!(
            "label name `{name}` must match `[a-zA-Z_][a-zA-Z0-9_]*` here; try `{}`",
            sanitize(name)
        ));
    }
    None
}

/// Why `unit` is not a good unit, or `None` if it is.
pub(crate) fn unit_problem(unit: &str) -> Option<String> {
    const NOT_BASE: &[(&str, &str)] = &[
        ("milliseconds", "seconds"),
        ("microseconds", "seconds"),
        ("nanoseconds", "seconds"),
        ("minutes", "seconds"),
        ("hours", "seconds"),
        ("days", "seconds"),
        ("kilobytes", "bytes"),
        ("megabytes", "bytes"),
        ("gigabytes", "bytes"),
        ("percent", "ratio"),
    ];
    if let Some((_, base)) = NOT_BASE.iter().find(|(u, _)| *u == unit) {
        return Some(format!(
            "unit `{unit}` is not a base unit; Prometheus metrics use base units: use `{base}` and record values in {base}"
        ));
    }
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if unit.is_empty() || unit.starts_with('_') || !unit.chars().all(valid_char) {
        return Some(format!(
            "unit `{unit}` must be lowercase snake_case, like `seconds` or `bytes`"
        ));
    }
    None
}

/// `HttpError` → `http_error`, `HTTPError` → `http_error`, `Healthy` → `healthy`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn sanitize(name: &str) -> String {
    let snake = snake_case(name.trim_start_matches('_'));
    let mut out: String = snake
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'x');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_variant_names() {
        assert_eq!(snake_case("Healthy"), "healthy");
        assert_eq!(snake_case("NotFound"), "not_found");
        assert_eq!(snake_case("HTTPError"), "http_error");
        assert_eq!(snake_case("Http2Error"), "http2_error");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }

    #[test]
    fn names_follow_prometheus_rules() {
        assert!(metric_name_problem("app_requests").is_none());
        assert!(metric_name_problem("__app").unwrap().contains("reserves"));
        assert!(
            metric_name_problem("app:rate")
                .unwrap()
                .contains("recording rules")
        );
        assert!(metric_name_problem("http.server.duration").is_none());
        assert!(metric_name_problem("温度").is_none());
        assert!(metric_name_problem("").unwrap().contains("empty"));
        assert!(label_name_problem("method").is_none());
        assert!(label_name_problem("error.message").is_none());
        assert!(label_name_problem("__name").is_some());
        assert!(label_name_problem("").is_some());
        assert!(
            ident_label_name_problem("région")
                .unwrap()
                .contains("try `r_gion`")
        );
        assert!(unit_problem("seconds").is_none());
        assert!(
            unit_problem("milliseconds")
                .unwrap()
                .contains("use `seconds`")
        );
    }
}
