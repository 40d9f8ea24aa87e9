use promexport::LabelValue;

#[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
struct Method {
    name: String,
}

fn main() {}
