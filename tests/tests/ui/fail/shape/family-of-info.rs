use promexport::{Family, Info, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    version: String,
}

#[derive(Metrics)]
struct AppMetrics {
    /// Build information.
    build: Family<Labels, Info<Labels>>,
}

fn main() {}
