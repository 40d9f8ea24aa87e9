//! Bad input loses nothing: label values and HELP texts of any UTF-8 (control characters,
//! quotes, backslashes, newlines) round-trip exactly through both text formats, read back by an
//! independent parser (Python's prometheus_client); a failing collector or a poisoned lock
//! cannot break a scrape.

use promexport::{
    Collect, Descriptor, Encoder, FamilyDescription, Format, Gauge, LabelSet, MetricKind, Metrics,
    Registry, Value,
};
use promexport_tests::{promtool_check_metrics, python_parse};
use proptest::prelude::*;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct TextLabels {
    text: String,
    index: usize,
}

#[derive(Metrics)]
#[metrics(no_global)]
struct Texts {
    /// Any label value.
    texts: promexport::Family<TextLabels, Gauge>,
}

/// A family whose HELP text is chosen at runtime.
struct Helped {
    descriptor: Descriptor,
}

impl Collect for Helped {
    fn describe(&self) -> Vec<FamilyDescription> {
        vec![FamilyDescription::from(&self.descriptor)]
    }
    fn encode(&self, encoder: &mut Encoder<'_>) {
        encoder
            .family(&self.descriptor, "")
            .gauge("", Value::I64(1));
    }
}

fn any_text() -> impl Strategy<Value = String> {
    // Any UTF-8, with the characters that need escaping made frequent.
    let special = prop::sample::select(vec![
        '\\', '"', '\n', '\r', '\t', '\0', '{', '}', ',', '=', '#', 'é', '🦀',
    ]);
    let chars = prop_oneof![3 => special, 2 => any::<char>()];
    prop::collection::vec(chars, 0..24).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_round_trips_through_both_formats(
        values in prop::collection::vec(any_text(), 1..12),
        help in any_text(),
    ) {
        let registry = Registry::new();
        let texts = Arc::new(Texts::new());
        registry.register(texts.clone()).unwrap();
        for (index, text) in values.iter().enumerate() {
            texts.texts.get(&TextLabels { text: text.clone(), index }).set(index as i64);
        }
        // Parsers trim the ends of a HELP line (whitespace has no escape there): the text
        // between the brackets must come back exactly.
        let help = format!("[{help}]");
        let help_text: &'static str = Box::leak(help.clone().into_boxed_str());
        registry.register(Helped {
            descriptor: Descriptor { name: "helped", help: help_text, unit: None, kind: MetricKind::Gauge },
        }).unwrap();

        for open_metrics in [false, true] {
            let format = if open_metrics { Format::OpenMetrics } else { Format::Text };
            let exposition = registry.render(format);
            if !open_metrics {
                promtool_check_metrics(&exposition);
            }
            let families = python_parse(&exposition, open_metrics);
            let family = families.iter().find(|f| f.name == "texts").unwrap();
            // Series of an open label set are served in no particular order.
            let mut parsed: Vec<(String, f64)> = family
                .samples
                .iter()
                .map(|s| (s.labels.iter().find(|(k, _)| k == "text").unwrap().1.clone(), s.value))
                .collect();
            let mut expected: Vec<(String, f64)> =
                values.iter().enumerate().map(|(i, v)| (v.clone(), i as f64)).collect();
            parsed.sort_by(|a, b| a.partial_cmp(b).unwrap());
            expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
            prop_assert_eq!(parsed, expected);
            let helped = families.iter().find(|f| f.name == "helped").unwrap();
            prop_assert_eq!(&helped.help, &help);
        }
    }
}

/// A label value whose encoding panics for 13: a bug in user code, hit while the family holds
/// its write lock, which poisons the lock.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Fragile(u8);

impl promexport::LabelValue for Fragile {
    fn encode(&self, out: &mut promexport::LabelValueEncoder<'_>) {
        assert_ne!(self.0, 13, "unlucky label value");
        out.write_str(itoa_like(self.0).as_str());
    }
}

fn itoa_like(value: u8) -> String {
    value.to_string()
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct FragileLabels {
    value: Fragile,
}

#[derive(Metrics)]
#[metrics(no_global)]
struct Poisoned {
    /// Served even after a panic poisoned the family's lock.
    poisoned: promexport::Family<FragileLabels, Gauge>,
}

#[test]
fn a_poisoned_lock_does_not_break_a_scrape() {
    let registry = Registry::new();
    let metrics = Arc::new(Poisoned::new());
    registry.register(metrics.clone()).unwrap();
    metrics
        .poisoned
        .get(&FragileLabels { value: Fragile(1) })
        .set(1);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        metrics
            .poisoned
            .get(&FragileLabels { value: Fragile(13) })
            .set(13);
    }));
    assert!(panicked.is_err());
    // The lock is poisoned; the family keeps working and the scrape keeps answering.
    metrics
        .poisoned
        .get(&FragileLabels { value: Fragile(2) })
        .set(2);
    let text = registry.render(Format::Text);
    // Series of an open label set are served in no particular order.
    assert!(text.contains("poisoned{value=\"1\"} 1\n"), "{text}");
    assert!(text.contains("poisoned{value=\"2\"} 2\n"), "{text}");
    assert!(!text.contains("13"), "{text}");
    promtool_check_metrics(&text);
}
