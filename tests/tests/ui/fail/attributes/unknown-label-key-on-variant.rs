use promexport::LabelValue;

#[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    #[label(name = "GET")]
    Get,
    Post,
}

fn main() {}
