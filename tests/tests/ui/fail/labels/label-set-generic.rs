use promexport::{LabelSet, LabelValue};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels<V: LabelValue> {
    value: V,
}

fn main() {}
