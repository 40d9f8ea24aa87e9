use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(name = "http-method")]
    method: String,
}

fn main() {}
