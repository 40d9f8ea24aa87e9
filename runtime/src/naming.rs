//! Metric name rules for names only known at runtime.

/// Why `name` is not a valid metric name, or `None` if it is: any non-empty UTF-8 that does not
/// start with `__` (Prometheus 3 takes them all; the encoders escape the others for scrapers
/// that ask for a scheme, or name none).
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) fn metric_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("a metric name cannot be empty".to_owned())
    } else if name.starts_with("__") {
        Some(format!(
            "`{name}` starts with `__`, which Prometheus reserves for internal use"
        ))
    } else {
        None
    }
}

/// Why `name` is not a valid label name, or `None` if it is: any non-empty UTF-8 that does not
/// start with `__`.
#[cfg_attr(not(any(feature = "remote-write", feature = "push")), allow(dead_code))]
pub(crate) fn label_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("a label name cannot be empty".to_owned())
    } else if name.starts_with("__") {
        Some(format!(
            "label name `{name}` starts with `__`, which Prometheus reserves for internal use"
        ))
    } else {
        None
    }
}

/// Why `name` is not a legacy label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`), or
/// `None` if it is: where a name travels outside an exposition that could quote it (a
/// Pushgateway URL's grouping key).
#[cfg_attr(not(feature = "push"), allow(dead_code))]
pub(crate) fn legacy_label_name_problem(name: &str) -> Option<String> {
    if let Some(problem) = label_name_problem(name) {
        return Some(problem);
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.starts_with(|c: char| c.is_ascii_digit()) || !name.chars().all(valid) {
        Some(format!(
            "`{name}` is not a valid label name here (`[a-zA-Z_][a-zA-Z0-9_]*`)"
        ))
    } else {
        None
    }
}

/// Maps any text to a valid metric name: other characters become `_`.
pub(crate) fn sanitize_metric_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_and_checks_names() {
        assert_eq!(sanitize_metric_name("app-exporter.v2"), "app_exporter_v2");
        assert_eq!(sanitize_metric_name("9lives"), "_9lives");
        assert!(metric_name_problem("nginx").is_none());
        assert!(metric_name_problem("ngi-nx").is_none());
        assert!(metric_name_problem("http.server").is_none());
        assert!(metric_name_problem("").is_some());
        assert!(metric_name_problem("__x").is_some());
        assert!(label_name_problem("error.message").is_none());
        assert!(label_name_problem("__x").is_some());
        assert!(legacy_label_name_problem("instance").is_none());
        assert!(legacy_label_name_problem("error.message").is_some());
        assert!(legacy_label_name_problem("9a").is_some());
    }
}
