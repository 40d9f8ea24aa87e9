use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(rename = "verb")]
    method: String,
}

fn main() {}
