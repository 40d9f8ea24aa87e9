use super::*;

/// The examples of prometheus/common's `TestEscapeName` (`model/metric_test.go`), the reference
/// implementation of the escaping schemes of the UTF-8 names proposal (0016):
/// input, underscores, dots, values.
const ESCAPE_NAME_CASES: &[(&str, &str, &str, &str)] = &[
    ("", "", "", ""),
    (
        "no:escaping_required",
        "no:escaping_required",
        "no:escaping__required",
        "no:escaping_required",
    ),
    (
        "mysystem.prod.west.cpu.load",
        "mysystem_prod_west_cpu_load",
        "mysystem_dot_prod_dot_west_dot_cpu_dot_load",
        "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load",
    ),
    (
        "mysystem.prod.west.cpu.load_total",
        "mysystem_prod_west_cpu_load_total",
        "mysystem_dot_prod_dot_west_dot_cpu_dot_load__total",
        "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total",
    ),
    (
        "http.status:sum",
        "http_status:sum",
        "http_dot_status:sum",
        "U__http_2e_status:sum",
    ),
    (
        "label with 😱",
        "label_with__",
        "label__with____",
        "U__label_20_with_20__1f631_",
    ),
    ("花火", "__", "____", "U___82b1__706b_"),
    (
        "label with \u{0100}",
        "label_with__",
        "label__with____",
        "U__label_20_with_20__100_",
    ),
];

#[test]
fn every_scheme_escapes_the_reference_examples_as_client_golang() {
    for &(input, underscores, dots, values) in ESCAPE_NAME_CASES {
        assert_eq!(
            Escaping::Underscores.escape_name(input),
            underscores,
            "{input}"
        );
        assert_eq!(Escaping::Dots.escape_name(input), dots, "{input}");
        assert_eq!(Escaping::Values.escape_name(input), values, "{input}");
        assert_eq!(Escaping::AllowUtf8.escape_name(input), input, "{input}");
    }
}

#[test]
fn the_examples_of_the_migration_proposal_escape_as_it_says() {
    // prometheus/proposals 0030-utf8-migration, "Expanded queries (all possible escapings)" of
    // `{"my.utf8.metric", "my.label"="value"}`. The proposal writes the code points in upper
    // case (`_2E_`); client_golang writes them in lower case and reads both.
    let name = "my.utf8.metric";
    assert_eq!(Escaping::Underscores.escape_name(name), "my_utf8_metric");
    assert_eq!(Escaping::Dots.escape_name(name), "my_dot_utf8_dot_metric");
    assert_eq!(
        Escaping::Values.escape_name(name).to_uppercase(),
        "U__my_2E_utf8_2E_metric".to_uppercase()
    );
    assert_eq!(
        escape_label_name("my.label", Escaping::Underscores),
        "my_label"
    );
    assert_eq!(
        escape_label_name("my.label", Escaping::Dots),
        "my_dot_label"
    );
    // A leading digit is escaped: it is legal only past the first character.
    assert_eq!(Escaping::Underscores.escape_name("9lives"), "_lives");
    assert_eq!(Escaping::Values.escape_name("9lives"), "U___39_lives");
}

#[test]
fn legacy_names_are_recognised_by_their_rules() {
    assert!(is_legacy_metric_name("no:escaping_required"));
    assert!(is_legacy_metric_name("_9"));
    assert!(!is_legacy_metric_name("9_"));
    assert!(!is_legacy_metric_name(""));
    assert!(!is_legacy_metric_name("é"));
    assert!(!is_legacy_metric_name("a.b"));
    assert!(is_legacy_label_name("method"));
    assert!(!is_legacy_label_name("a:b"));
    assert!(legacy_label_names(&["a", "b_2"]));
    assert!(!legacy_label_names(&["a", "error.message"]));
    assert!(legacy_label_names(&[]));
    // A label name never keeps a `:`, whatever the scheme.
    assert_eq!(escape_label_name("a:b", Escaping::Underscores), "a_b");
    assert_eq!(escape_label_name("a:b", Escaping::Values), "U__a_3a_b");
    assert_eq!(escape_label_name("method", Escaping::Dots), "method");
}

#[test]
fn label_names_are_written_quoted_or_escaped() {
    let write = |name: &str, scheme| {
        let mut out = String::new();
        write_label_name(&mut out, name, scheme);
        out
    };
    assert_eq!(write("method", Escaping::AllowUtf8), "method");
    assert_eq!(write("method", Escaping::Dots), "method");
    assert_eq!(
        write("error.message", Escaping::AllowUtf8),
        "\"error.message\""
    );
    assert_eq!(write("say \"hi\"", Escaping::AllowUtf8), r#""say \"hi\"""#);
    assert_eq!(
        write("error.message", Escaping::Underscores),
        "error_message"
    );
    assert_eq!(write("error.message", Escaping::Dots), "error_dot_message");
    assert_eq!(
        write("error.message", Escaping::Values),
        "U__error_2e_message"
    );
}

#[test]
fn quoted_names_in_lists_are_found_and_rewritten() {
    let list = r#"method="GET","error.message"="a \"b\", c","say \"hi\""="x""#;
    assert!(may_hold_quoted_names(list));
    assert!(may_hold_quoted_names(r#""a.b"="x""#));
    assert!(!may_hold_quoted_names(r#"method="GET",path="/a,\"b\"""#));
    let rewrite = |scheme| {
        let mut out = Vec::new();
        write_escaped_list(&mut out, list, scheme);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        rewrite(Escaping::Underscores),
        r#"method="GET",error_message="a \"b\", c",say__hi_="x""#
    );
    assert_eq!(
        rewrite(Escaping::Values),
        r#"method="GET",U__error_2e_message="a \"b\", c",U__say_20__22_hi_22_="x""#
    );
    // A legacy list comes out as it went in.
    let legacy = r#"a=",",b="\\\"""#;
    let mut out = Vec::new();
    write_escaped_list(&mut out, legacy, Escaping::Dots);
    assert_eq!(out, legacy.as_bytes());
}

mod exposition {
    use crate::{Descriptor, Encoder, Escaping, Format, Labels, MetricKind, Value};

    const REQUESTS: Descriptor = Descriptor {
        name: "http.server.requests",
        help: "Requests.",
        unit: None,
        kind: MetricKind::Counter,
    };
    const PHASE: Descriptor = Descriptor {
        name: "job.phase",
        help: "Phase.",
        unit: None,
        kind: MetricKind::StateSet,
    };
    const LEGACY: Descriptor = Descriptor {
        name: "jobs",
        help: "Jobs.",
        unit: None,
        kind: MetricKind::Gauge,
    };

    fn write(format: Format, escaping: Escaping) -> String {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format).escaping(escaping);
        let mut family = encoder.family(&REQUESTS, "region=\"eu\"");
        let labels = Labels::from(r#""error.message"="a \"b\"""#).with("code.class", "5xx");
        family.counter(labels, Value::U64(3), None, None);
        family.counter("", Value::U64(1), None, None);
        drop(family);
        encoder.family(&PHASE, "").state("", "running", true);
        encoder
            .family(&LEGACY, "")
            .gauge(r#"queue="mail""#, Value::U64(2));
        encoder.finish();
        String::from_utf8(out).unwrap()
    }

    const LEGACY_TEXT: &str = "# HELP jobs Jobs.\n# TYPE jobs gauge\njobs{queue=\"mail\"} 2\n";

    #[test]
    fn allow_utf_8_quotes_names_in_text_and_open_metrics() {
        assert_eq!(
            write(Format::Text, Escaping::AllowUtf8),
            format!(
                "# HELP \"http.server.requests_total\" Requests.\n\
                 # TYPE \"http.server.requests_total\" counter\n\
                 {{\"http.server.requests_total\",region=\"eu\",\"error.message\"=\"a \\\"b\\\"\",\"code.class\"=\"5xx\"}} 3\n\
                 {{\"http.server.requests_total\",region=\"eu\"}} 1\n\
                 # HELP \"job.phase\" Phase.\n\
                 # TYPE \"job.phase\" gauge\n\
                 {{\"job.phase\",\"job.phase\"=\"running\"}} 1\n\
                 {LEGACY_TEXT}"
            )
        );
        let open_metrics = write(Format::OpenMetrics, Escaping::AllowUtf8);
        assert!(
            open_metrics.starts_with(
                "# TYPE \"http.server.requests\" counter\n\
                 # HELP \"http.server.requests\" Requests.\n\
                 {\"http.server.requests_total\",region=\"eu\","
            ),
            "{open_metrics}"
        );
        assert!(open_metrics.ends_with("jobs{queue=\"mail\"} 2\n# EOF\n"));
    }

    #[test]
    fn the_other_schemes_escape_every_name_that_is_not_legacy() {
        for (scheme, requests, message, class, phase) in [
            (
                Escaping::Underscores,
                "http_server_requests",
                "error_message",
                "code_class",
                "job_phase",
            ),
            (
                Escaping::Dots,
                "http_dot_server_dot_requests",
                "error_dot_message",
                "code_dot_class",
                "job_dot_phase",
            ),
            (
                Escaping::Values,
                "U__http_2e_server_2e_requests",
                "U__error_2e_message",
                "U__code_2e_class",
                "U__job_2e_phase",
            ),
        ] {
            assert_eq!(
                write(Format::Text, scheme),
                format!(
                    "# HELP {requests}_total Requests.\n\
                     # TYPE {requests}_total counter\n\
                     {requests}_total{{region=\"eu\",{message}=\"a \\\"b\\\"\",{class}=\"5xx\"}} 3\n\
                     {requests}_total{{region=\"eu\"}} 1\n\
                     # HELP {phase} Phase.\n\
                     # TYPE {phase} gauge\n\
                     {phase}{{{phase}=\"running\"}} 1\n\
                     {LEGACY_TEXT}"
                ),
                "{scheme:?}"
            );
        }
    }

    #[test]
    fn legacy_names_are_byte_for_byte_the_same_in_every_scheme() {
        let write = |format, escaping| {
            let mut out = Vec::new();
            let mut encoder = Encoder::new(&mut out, format).escaping(escaping);
            encoder
                .family(&LEGACY, "no_escaping=\"a_b\"")
                .gauge(r#"queue="mail""#, Value::U64(2));
            encoder.finish();
            out
        };
        for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
            let underscores = write(format, Escaping::Underscores);
            for scheme in [Escaping::AllowUtf8, Escaping::Dots, Escaping::Values] {
                assert_eq!(write(format, scheme), underscores, "{format:?} {scheme:?}");
            }
        }
    }
}
