use promexport::{Counter, Family, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct PeerLabels {
    peer: String,
}

#[derive(Metrics)]
struct PeerMetrics {
    /// Bytes sent by peer.
    #[metric(expire_after = 600)]
    sent: Family<PeerLabels, Counter>,
}

fn main() {}
