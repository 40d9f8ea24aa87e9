use promexport::LabelValue;

#[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
enum Outcome {
    Ok,
    Error(u16),
}

fn main() {}
