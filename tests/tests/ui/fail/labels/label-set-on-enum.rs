use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
enum Labels {
    Get,
    Post,
}

fn main() {}
