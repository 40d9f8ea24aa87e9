use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(name = "__x")]
    method: String,
}

fn main() {}
