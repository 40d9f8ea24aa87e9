//! gzip of a response body (RFC 1952) with one deflate compressor per thread, reset between
//! responses: building a compressor allocates and clears its window and hash tables (a few
//! hundred KB), which in the server cost several times the compression of a small exposition.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use std::cell::RefCell;

/// The fastest level, chosen for the CPU of every scrape over its bytes: on zlib-rs it compresses
/// the seed exporter's exposition 3.1× (level 6, Go promhttp's, 4×) in 40% of level 6's time;
/// `benches/README.md` ("gzip of a scrape") has the measured sizes and times of each level.
const LEVEL: u32 = 1;

/// Magic, deflate, no flags, no modification time, XFL 4 (fastest algorithm), OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];

/// CRC-32 and size of the input, after the deflate stream.
const TRAILER_LEN: usize = 8;

thread_local! {
    static COMPRESSOR: RefCell<Option<Compress>> = const { RefCell::new(None) };
}

/// `data` as a complete gzip member, compressed with this thread's compressor.
pub(super) fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    with_compressor(|compress| {
        // Expositions compress 3-10×; a third of the input plus the framing is rarely exceeded.
        let mut out = Vec::with_capacity(HEADER.len() + data.len() / 3 + 64 + TRAILER_LEN);
        let mut member = Member::begin(compress, &mut out);
        member.write(data, &mut out, FlushCompress::Finish)?;
        member.end(&mut out);
        Ok(out)
    })
}

/// Runs `compressing` with this thread's compressor (a new one during the thread's destruction).
pub(super) fn with_compressor<R>(mut compressing: impl FnMut(&mut Compress) -> R) -> R {
    let reused = COMPRESSOR.try_with(|slot| {
        // Not borrowed already (nothing here re-enters), but a fresh compressor is as correct.
        let mut slot = slot.try_borrow_mut().ok()?;
        Some(compressing(slot.get_or_insert_with(new_compressor)))
    });
    match reused {
        Ok(Some(result)) => result,
        // During the thread's destruction, or re-entered.
        Ok(None) | Err(_) => compressing(&mut new_compressor()),
    }
}

fn new_compressor() -> Compress {
    // A raw deflate stream: the gzip framing is written here, for every backend alike.
    Compress::new(Compression::new(LEVEL), false)
}

/// One gzip member being written: the header, deflate blocks as the input comes, the trailer.
pub(super) struct Member<'c> {
    compress: &'c mut Compress,
    crc: Crc,
}

impl std::fmt::Debug for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("total_in", &self.compress.total_in())
            .finish_non_exhaustive()
    }
}

impl<'c> Member<'c> {
    /// Resets `compress` (so a failed or earlier response leaves nothing behind) and writes the
    /// header to `out`.
    pub(super) fn begin(compress: &'c mut Compress, out: &mut Vec<u8>) -> Self {
        compress.reset();
        out.extend_from_slice(&HEADER);
        Member {
            compress,
            crc: Crc::new(),
        }
    }

    /// Compresses all of `data` onto `out`, which grows as needed; `FlushCompress::Finish`
    /// ends the deflate stream (with `data` its last input).
    pub(super) fn write(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        flush: FlushCompress,
    ) -> std::io::Result<()> {
        self.crc.update(data);
        let start = self.compress.total_in();
        loop {
            let consumed = usize::try_from(self.compress.total_in() - start).unwrap_or(data.len());
            let rest = data.get(consumed..).unwrap_or_default();
            if rest.is_empty() && flush != FlushCompress::Finish {
                return Ok(());
            }
            if out.len() == out.capacity() {
                out.reserve(out.len().max(1024));
            }
            let progress = (self.compress.total_in(), self.compress.total_out());
            let status = self
                .compress
                .compress_vec(rest, out, flush)
                .map_err(std::io::Error::other)?;
            let moved = progress != (self.compress.total_in(), self.compress.total_out());
            match status {
                Status::StreamEnd => return Ok(()),
                // Room was free, yet nothing moved: a stream that cannot end (never loop on it).
                _ if !moved && out.len() < out.capacity() => {
                    return Err(std::io::Error::other("deflate made no progress"));
                }
                // Out of room, or more to do: room is made above.
                Status::Ok | Status::BufError => {}
            }
        }
    }

    /// Writes the trailer, after a `write` with `FlushCompress::Finish`.
    pub(super) fn end(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.crc.sum().to_le_bytes());
        // ISIZE is the input's size modulo 2^32.
        out.extend_from_slice(&self.crc.amount().to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::gzip;
    use std::io::Read;

    fn gunzip(body: &[u8]) -> Vec<u8> {
        let mut decoder = flate2::read::GzDecoder::new(body);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).expect("a valid gzip stream");
        // One member and nothing after it.
        assert!(
            decoder.into_inner().is_empty(),
            "bytes after the gzip member"
        );
        out
    }

    /// An exposition-like text of `lines` series, with a varying tail so no two bodies match.
    fn exposition(lines: usize, seed: u64) -> Vec<u8> {
        let mut text =
            String::from("# HELP requests_total Requests.\n# TYPE requests_total counter\n");
        for i in 0..lines as u64 {
            let value = (i * 7919 + seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
            text.push_str(&format!(
                "requests_total{{path=\"/api/v1/items/{i}\",seed=\"{seed}\"}} {value}\n"
            ));
        }
        text.into_bytes()
    }

    #[test]
    fn consecutive_responses_on_one_thread_are_independent_streams() {
        // Large after small and small after large: a stream that carried state over (an
        // unreset dictionary or a leftover end of block) would not decode to its own input.
        let bodies = [
            exposition(40, 1),
            exposition(20_000, 2),
            exposition(3, 3),
            Vec::new(),
            exposition(1_000, 4),
            exposition(40, 1),
        ];
        let compressed: Vec<Vec<u8>> = bodies.iter().map(|b| gzip(b).unwrap()).collect();
        for (body, gz) in bodies.iter().zip(&compressed) {
            assert_eq!(&gunzip(gz), body);
            assert!(
                body.len() < 1_000 || gz.len() * 3 < body.len(),
                "compressed"
            );
        }
        // The same input gives the same bytes however much was compressed before it.
        assert_eq!(compressed[0], compressed[5]);
    }

    #[test]
    fn incompressible_input_grows_the_output_as_needed() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert_eq!(gunzip(&gzip(&noise).unwrap()), noise);
        assert_eq!(gunzip(&gzip(b"after noise").unwrap()), b"after noise");
    }
}
