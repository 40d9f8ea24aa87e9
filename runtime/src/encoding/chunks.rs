//! An exposition handed out in pieces while it is written, so that a scrape of a large registry
//! holds a bounded buffer instead of the whole body.

/// The size from which the encoder hands its output on, at the next boundary.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;

/// Takes a streamed exposition's output as it grows (the server's chunked responses).
pub(crate) trait ChunkSink: std::fmt::Debug {
    /// Between two series of a family, `out` holding at least [`CHUNK_BYTES`]: takes what it
    /// wants of it. Must not wait for anything: the family's lock may be held.
    fn series_boundary(&mut self, out: &mut Vec<u8>);

    /// Before a family (no family is being written): takes what it wants of `out`, and may
    /// wait for its reader.
    fn family_boundary(&mut self, out: &mut Vec<u8>);

    /// After the exposition: takes the rest, `out`, and returns the size of the whole
    /// exposition.
    fn end(&mut self, out: &mut Vec<u8>) -> usize;
}
