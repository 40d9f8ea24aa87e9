use promexport::LabelSet;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Peer {
    host: String,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    peer: Peer,
}

fn main() {}
