//! Metric name rules for names only known at runtime.

/// Why `name` is not a valid metric name, or `None` if it is.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) fn metric_name_problem(name: &str) -> Option<String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || !name.chars().all(valid)
    {
        Some(format!(
            "`{name}` is not a valid metric name (`[a-zA-Z_][a-zA-Z0-9_]*`); try `{}`",
            sanitize_metric_name(name)
        ))
    } else if name.starts_with("__") {
        Some(format!(
            "`{name}` starts with `__`, which Prometheus reserves for internal use"
        ))
    } else {
        None
    }
}

/// Why `name` is not a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`),
/// or `None` if it is.
#[cfg_attr(not(feature = "push"), allow(dead_code))]
pub(crate) fn label_name_problem(name: &str) -> Option<String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || !name.chars().all(valid)
    {
        Some(format!(
            "`{name}` is not a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`)"
        ))
    } else if name.starts_with("__") {
        Some(format!(
            "label name `{name}` starts with `__`, which Prometheus reserves for internal use"
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
        assert!(
            metric_name_problem("ngi-nx")
                .unwrap()
                .contains("try `ngi_nx`")
        );
        assert!(metric_name_problem("__x").is_some());
    }
}
