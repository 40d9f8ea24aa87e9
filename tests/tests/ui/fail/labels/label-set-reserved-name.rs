use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    #[label(name = "__x")]
    method: String,
    // UTF-8 or not, `__` is Prometheus' own.
    #[label(name = "__error.message")]
    message: String,
}

fn main() {}
