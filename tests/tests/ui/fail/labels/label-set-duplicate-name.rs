use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    method: String,
    #[label(name = "method")]
    verb: String,
}

fn main() {}
