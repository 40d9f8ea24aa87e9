//! Label values, HELP text and sample values chosen by the fuzzer → both exposition formats →
//! the strict parser of `promexport_fuzz`: every line parses, and gives back exactly what was
//! encoded (labels of the series, of the extra label and of the exemplar; HELP; value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::{
    Encoder, Exemplar, Format, LabelSet, Labels, MetricKind, Value, encode_label_set,
};
use promexport_fuzz::exposition::{Syntax, parse};
use promexport_fuzz::split_input;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct RequestLabels {
    path: String,
    user: String,
}

fuzz_target!(|data: &[u8]| {
    let (number, rest) = data.split_at(data.len().min(8));
    let mut bits = [0u8; 8];
    bits[..number.len()].copy_from_slice(number);
    let value = f64::from_le_bytes(bits);
    let [help, path, user, reason, trace_id] = split_input::<5>(rest);
    let labels = RequestLabels { path, user };
    let label_text = encode_label_set(&labels);
    // Exemplars refuse more than 128 characters: then the sample has none.
    let exemplar = Exemplar::new(&[("trace_id", &trace_id)], value).ok();
    for (format, syntax) in [
        (Format::Text, Syntax::Text),
        (Format::OpenMetrics, Syntax::OpenMetrics),
    ] {
        let mut bytes = Vec::new();
        let mut encoder = Encoder::new(&mut bytes, format);
        let mut family =
            promexport::__fuzz::family(&mut encoder, "fuzz_requests", &help, MetricKind::Counter);
        let series = Labels::from(label_text.as_str()).with("reason", &reason);
        family.counter(series, Value::F64(value), None, exemplar.as_ref());
        drop(family);
        encoder.finish();
        let out = match String::from_utf8(bytes) {
            Ok(out) => out,
            Err(e) => panic!("{format:?} is not UTF-8: {e}"),
        };
        let exposition = match parse(&out, syntax) {
            Ok(exposition) => exposition,
            Err(e) => panic!("{format:?} does not parse: {e}\n{out}"),
        };
        let help_line = exposition.metadata.iter().find(|m| m.keyword == "HELP");
        assert_eq!(
            help_line.map(|m| m.text.as_str()),
            Some(help.as_str()),
            "{out}"
        );
        let [sample] = exposition.samples.as_slice() else {
            panic!("not one sample:\n{out}");
        };
        assert_eq!(sample.name, "fuzz_requests_total");
        let expected = [
            ("path", labels.path.as_str()),
            ("user", labels.user.as_str()),
            ("reason", reason.as_str()),
        ];
        let parsed: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(parsed, expected, "{out}");
        assert!(
            same_number(sample.value, value),
            "{} for {value:?}\n{out}",
            sample.value
        );
        match (&sample.exemplar, &exemplar, format) {
            (None, _, Format::Text) | (None, None, Format::OpenMetrics) => {}
            (Some(parsed), Some(_), Format::OpenMetrics) => {
                assert_eq!(
                    parsed.labels,
                    [("trace_id".to_owned(), trace_id.clone())],
                    "{out}"
                );
                assert!(same_number(parsed.value, value), "{out}");
            }
            _ => panic!(
                "exemplar {:?} written for {exemplar:?}:\n{out}",
                sample.exemplar
            ),
        }
    }
});

fn same_number(parsed: f64, written: f64) -> bool {
    parsed.to_bits() == written.to_bits() || (parsed.is_nan() && written.is_nan())
}
