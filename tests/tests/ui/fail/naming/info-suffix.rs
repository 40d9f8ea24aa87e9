use promexport::{Info, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Version {
    version: &'static str,
}

#[derive(Metrics)]
struct AppMetrics {
    /// Version of the application.
    build_info: Info<Version>,
}

fn main() {}
