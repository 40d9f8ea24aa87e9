//! Scrapes of large registries: encoded on a blocking thread of the runtime and handed to the
//! response in chunks as they are written (compressed as they come), so that a scrape holds a
//! bounded buffer whatever the size of the registry, and the other connections are served
//! meanwhile (on another core, where there is one).

use super::body::ResponseBody;
use super::gzip::{Member, with_compressor};
use super::handler::{ScrapeRequest, exposition_headers};
use crate::Registry;
use crate::collector::collect_for_scrape;
use crate::encoding::{CHUNK_BYTES, ChunkSink};
use flate2::FlushCompress;
use hyper::Response;
use hyper::body::Bytes;
use std::collections::VecDeque;
use tokio::sync::mpsc;

/// The size of the last exposition from which a registry's scrapes are streamed. Smaller ones
/// are encoded whole on the connection's task, with a `Content-Length`, as cheap as before.
pub(super) const STREAM_FROM: usize = 256 * 1024;

/// Chunks the response holds before the encoder waits for the client.
const CHUNKS_IN_FLIGHT: usize = 2;

/// How far (in bytes of chunks not yet taken by the response) the encoder may get ahead of the
/// client within one family before it waits for it. The wait is under the family's read lock,
/// which writers creating series queue behind; between families it waits with no lock held.
const AHEAD_WITHIN_A_FAMILY: usize = 16 * CHUNK_BYTES;

/// Whether a scrape of `registry` is streamed: a `GET` of a registry whose last exposition was
/// large. (A `HEAD` sends no body, so it is answered whole: the same headers, and no thread.)
pub(super) fn streams(request: &ScrapeRequest, registry: &Registry) -> bool {
    request.allowed && !request.head_only && registry.last_exposition_size() >= STREAM_FROM
}

/// Collects on the calling task, then encodes on a blocking thread, streaming the response:
/// `held` (the scrape's permit) is released when the encoding ends.
pub(super) async fn answer(
    request: ScrapeRequest,
    registry: &Registry,
    held: impl Send + 'static,
) -> Response<ResponseBody> {
    let collected = collect_for_scrape(registry.collect(request.timeout)).await;
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let ScrapeRequest {
        format,
        escaping,
        content_type,
        gzip,
        selected,
        ..
    } = request;
    let registry = registry.clone();
    // Detached: it ends when the exposition is written, or soon after the client is gone.
    drop(tokio::task::spawn_blocking(move || {
        let _held = held;
        collected.encode(|| {
            if gzip {
                with_compressor(|compress| {
                    let mut header = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 2);
                    let member = Member::begin(compress, &mut header);
                    let mut chunks = Chunks::new(&sender, Some(member), header);
                    registry.encode_streamed(format, escaping, &selected, &mut chunks);
                });
            } else {
                let mut chunks = Chunks::new(&sender, None, Vec::new());
                registry.encode_streamed(format, escaping, &selected, &mut chunks);
            }
        });
    }));
    let mut response = Response::new(ResponseBody::Streamed(receiver));
    exposition_headers(response.headers_mut(), content_type, gzip);
    response
}

/// The chunks of one streamed response, compressed or not.
#[derive(Debug)]
struct Chunks<'s, 'c> {
    sender: &'s mpsc::Sender<std::io::Result<Bytes>>,
    gzip: Option<Member<'c>>,
    /// gzip: the compressed bytes of the chunk being filled.
    compressed: Vec<u8>,
    /// Chunks the response has no room for yet, and their size.
    waiting: VecDeque<Bytes>,
    waiting_bytes: usize,
    /// Bytes of exposition seen.
    size: usize,
    /// The response is gone (the client left, or timed out): the rest is discarded.
    gone: bool,
    /// Compression failed: the response ends with this error instead of its last chunk.
    failed: Option<std::io::Error>,
}

impl<'s, 'c> Chunks<'s, 'c> {
    fn new(
        sender: &'s mpsc::Sender<std::io::Result<Bytes>>,
        gzip: Option<Member<'c>>,
        compressed: Vec<u8>,
    ) -> Self {
        Chunks {
            sender,
            gzip,
            compressed,
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            size: 0,
            gone: false,
            failed: None,
        }
    }

    /// Takes all of `out`: as a chunk, or into the compressed one.
    fn take(&mut self, out: &mut Vec<u8>) {
        self.size += out.len();
        if self.gone || out.is_empty() {
            out.clear();
            return;
        }
        match &mut self.gzip {
            None => {
                let chunk = std::mem::replace(out, Vec::with_capacity(out.capacity()));
                self.queue(chunk);
            }
            Some(member) => {
                let written = member.write(out, &mut self.compressed, FlushCompress::None);
                out.clear();
                if let Err(error) = written {
                    self.fail(error);
                } else if self.compressed.len() >= CHUNK_BYTES {
                    let capacity = self.compressed.capacity();
                    let chunk =
                        std::mem::replace(&mut self.compressed, Vec::with_capacity(capacity));
                    self.queue(chunk);
                }
            }
        }
    }

    fn queue(&mut self, chunk: Vec<u8>) {
        self.waiting_bytes += chunk.len();
        self.waiting.push_back(Bytes::from(chunk));
    }

    fn fail(&mut self, error: std::io::Error) {
        self.failed = Some(error);
        self.give_up();
    }

    fn give_up(&mut self) {
        self.gone = true;
        self.waiting.clear();
        self.waiting_bytes = 0;
    }

    /// Hands the response the waiting chunks it has room for, without waiting.
    fn send_ready(&mut self) {
        while let Some(chunk) = self.waiting.pop_front() {
            let len = chunk.len();
            match self.sender.try_send(Ok(chunk)) {
                Ok(()) => self.waiting_bytes -= len,
                Err(mpsc::error::TrySendError::Full(Ok(chunk))) => {
                    self.waiting.push_front(chunk);
                    return;
                }
                Err(_) => return self.give_up(),
            }
        }
    }

    /// Hands the response waiting chunks, waiting for room, until at most `ahead` bytes wait.
    fn send_until(&mut self, ahead: usize) {
        while self.waiting_bytes > ahead {
            let Some(chunk) = self.waiting.pop_front() else {
                break;
            };
            self.waiting_bytes -= chunk.len();
            if self.sender.blocking_send(Ok(chunk)).is_err() {
                return self.give_up();
            }
        }
    }
}

impl ChunkSink for Chunks<'_, '_> {
    fn series_boundary(&mut self, out: &mut Vec<u8>) {
        self.take(out);
        self.send_ready();
        self.send_until(AHEAD_WITHIN_A_FAMILY);
    }

    fn family_boundary(&mut self, out: &mut Vec<u8>) {
        if out.len() >= CHUNK_BYTES {
            self.take(out);
        }
        self.send_until(0);
    }

    fn end(&mut self, out: &mut Vec<u8>) -> usize {
        self.take(out);
        if let Some(mut member) = self.gzip.take().filter(|_| !self.gone) {
            match member.write(&[], &mut self.compressed, FlushCompress::Finish) {
                Ok(()) => {
                    member.end(&mut self.compressed);
                    let last = std::mem::take(&mut self.compressed);
                    self.queue(last);
                }
                Err(error) => self.fail(error),
            }
        }
        self.send_until(0);
        if let Some(error) = self.failed.take() {
            let _gone_already = self.sender.blocking_send(Err(error));
        }
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, Family, Format};
    use std::io::Read;

    #[derive(Clone, Debug, PartialEq, Eq, Hash, crate::LabelSet)]
    #[label(crate = crate)]
    struct PathLabels {
        path: String,
    }

    #[derive(crate::Metrics)]
    #[metrics(crate = crate, prefix = "streamed", no_global)]
    struct Streamed {
        /// Requests by path.
        #[metric(max_series = 100000)]
        requests: Family<PathLabels, Counter>,
        /// One more family after the large one.
        after: Counter,
    }

    fn registry(series: u64) -> Registry {
        let registry = Registry::new();
        let metrics = std::sync::Arc::new(Streamed::new());
        registry.register(metrics.clone()).unwrap();
        for i in 0..series {
            let labels = PathLabels {
                path: format!("/api/v1/items/{i}/details"),
            };
            metrics.requests.get(&labels).inc_by(i);
        }
        metrics.after.inc();
        registry
    }

    /// The chunks of a streamed exposition of `registry`, read as they come (the encoder waits
    /// for the reader), and the largest one.
    fn streamed(registry: &Registry, format: Format, gzip: bool) -> (Vec<u8>, usize) {
        let (sender, mut receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let registry = registry.clone();
        let encoding = std::thread::spawn(move || {
            if gzip {
                with_compressor(|compress| {
                    let mut header = Vec::new();
                    let member = Member::begin(compress, &mut header);
                    let mut chunks = Chunks::new(&sender, Some(member), header);
                    registry.encode_streamed(format, crate::Escaping::default(), &[], &mut chunks);
                });
            } else {
                let mut chunks = Chunks::new(&sender, None, Vec::new());
                registry.encode_streamed(format, crate::Escaping::default(), &[], &mut chunks);
            }
        });
        let (mut body, mut largest) = (Vec::new(), 0);
        while let Some(chunk) = receiver.blocking_recv() {
            let chunk = chunk.unwrap();
            largest = largest.max(chunk.len());
            body.extend_from_slice(&chunk);
        }
        encoding.join().unwrap();
        (body, largest)
    }

    #[test]
    fn the_chunks_are_the_whole_exposition_in_every_format() {
        let registry = registry(30_000);
        for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
            let whole = registry.render_bytes(format);
            assert!(whole.len() > 20 * CHUNK_BYTES, "{} B", whole.len());
            let (plain, largest) = streamed(&registry, format, false);
            assert!(
                plain == whole,
                "{format:?}: {} B of {}",
                plain.len(),
                whole.len()
            );
            if format != Format::Protobuf {
                // A chunk ends at the first series boundary past the chunk size.
                assert!(largest < CHUNK_BYTES + 1024, "{format:?}: {largest} B");
            }
            let (gzipped, _) = streamed(&registry, format, true);
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&gzipped[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert!(
                decoded == whole,
                "{format:?} gzip: {} B of {}",
                decoded.len(),
                whole.len()
            );
            assert!(gzipped.len() * 3 < whole.len());
            assert_eq!(registry.last_exposition_size(), whole.len());
        }
    }
}
