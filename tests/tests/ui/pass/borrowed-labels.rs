//! `#[label(borrowed = ...)]` generates a borrowed form usable with `Family::get`, `remove`,
//! for `String`, `&'static str`, integer and enum fields alike, public or not.
use promexport::{Counter, Family, LabelSet, LabelValue};

#[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
enum Zone {
    East,
    West,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
#[label(borrowed = PeerLabelsRef)]
pub struct PeerLabels {
    peer: String,
    zone: Zone,
    port: u16,
    kind: &'static str,
    name: std::string::String,
}

fn main() {
    let family: Family<PeerLabels, Counter> = Family::default();
    let peer = String::from("10.0.0.7");
    let borrowed = PeerLabelsRef {
        peer: &peer,
        zone: &Zone::East,
        port: &9000,
        kind: &"grpc",
        name: "a",
    };
    family.get(&borrowed).inc();
    let copy = borrowed;
    assert_eq!(family.get(&copy).get(), 1);
    assert!(family.remove(&borrowed));
    let _ = Zone::West;
}
