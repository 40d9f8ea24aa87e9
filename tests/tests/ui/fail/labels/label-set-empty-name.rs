use promexport::LabelSet;

// Any non-empty UTF-8 is a label name (`error.message`); the empty string is not.
#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(name = "")]
    method: String,
}

fn main() {}
