use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
#[label(borrowed = "PathLabelsRef")]
struct PathLabels {
    path: String,
}

fn main() {}
