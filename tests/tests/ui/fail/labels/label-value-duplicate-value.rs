use promexport::LabelValue;

#[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
enum Outcome {
    Ok,
    #[label(rename = "ok")]
    Success,
}

fn main() {}
