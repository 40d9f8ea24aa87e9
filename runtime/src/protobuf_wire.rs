//! The protobuf wire format, as much of it as the exposition needs: varints, tags, doubles and
//! length-delimited fields written in place.
//!
//! A length-delimited field (a submessage, a string, a packed list) is written before its length
//! is known: [`begin`] leaves one byte for the length and [`end`] fills it in, shifting the
//! field's bytes when the length needs more than one byte (128 bytes or more: a family, a
//! histogram). Nothing is allocated per message, and the output is canonical.

pub(super) const VARINT: u32 = 0;
pub(super) const FIXED64: u32 = 1;
pub(super) const LENGTH_DELIMITED: u32 = 2;

/// A few bytes of fields written eight at a time at the end of the output, in `N` bytes made
/// room for there and cut back to what was written (see [`append`]): no copy of a variable
/// length, which would call `memcpy`, and no copy at all (a copy from the stack of what was just
/// stored there, in words at odd offsets, stalls on loads that span several of those stores).
/// `N` is the most the caller writes, plus 8 (varints are stored eight bytes at a time); what
/// does not fit is left out.
pub(super) struct Bytes<'a, const N: usize> {
    bytes: &'a mut [u8; N],
    len: usize,
}

/// Appends to `out` what `write` writes to a [`Bytes`] of `N` bytes.
#[inline]
pub(super) fn append<const N: usize>(out: &mut Vec<u8>, write: impl FnOnce(&mut Bytes<'_, N>)) {
    let start = out.len();
    out.extend_from_slice(&[0; N]);
    let len = match out.get_mut(start..) {
        Some(room) => write_at_start(room, write),
        None => 0,
    };
    out.truncate(start + len);
}

/// Writes at the start of `room`, zeroed and of at least `N` bytes, what `write` writes to a
/// [`Bytes`] of `N` bytes; returns how many bytes it wrote (none if `room` is shorter).
#[inline(always)]
pub(super) fn write_at_start<const N: usize>(
    room: &mut [u8],
    write: impl FnOnce(&mut Bytes<'_, N>),
) -> usize {
    let Some(bytes) = room
        .get_mut(..N)
        .and_then(|room| <&mut [u8; N]>::try_from(room).ok())
    else {
        return 0;
    };
    let mut bytes = Bytes { bytes, len: 0 };
    write(&mut bytes);
    bytes.len
}

impl<const N: usize> Bytes<'_, N> {
    /// The `len` low bytes of `word`, little-endian.
    #[inline]
    fn word(&mut self, word: u64, len: usize) {
        debug_assert!(self.len + 8 <= N, "a Bytes<{N}> is full");
        if let Some(slot) = self.bytes.get_mut(self.len..self.len + 8) {
            slot.copy_from_slice(&word.to_le_bytes());
            self.len += len;
        }
    }

    #[inline]
    pub(super) fn push(&mut self, byte: u8) {
        self.word(u64::from(byte), 1);
    }

    #[inline]
    pub(super) fn varint(&mut self, value: u64) {
        match varint_word(value) {
            Some((word, len)) => self.word(word, len),
            None => {
                // 57 bits or more: the low 56 as eight bytes, the rest after them.
                let (low, _) = varint_word(value & ((1 << 56) - 1)).unwrap_or_default();
                self.word(low | HIGH_BITS, 8);
                let (high, len) = varint_word(value >> 56).unwrap_or_default();
                self.word(high, len);
            }
        }
    }

    #[inline]
    pub(super) fn tag(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from((field << 3) | wire_type));
    }

    #[inline]
    pub(super) fn double_field(&mut self, field: u32, value: f64) {
        self.tag(field, FIXED64);
        self.word(value.to_bits(), 8);
    }

    #[inline]
    pub(super) fn uint64_field(&mut self, field: u32, value: u64) {
        self.tag(field, VARINT);
        self.varint(value);
    }

    /// Starts a length-delimited field of at most 127 bytes; returns where its length goes,
    /// for [`end`](Self::end).
    #[inline]
    pub(super) fn begin(&mut self, field: u32) -> usize {
        self.tag(field, LENGTH_DELIMITED);
        self.push(0);
        self.len - 1
    }

    /// Writes the length of the field started at `start`.
    #[inline]
    pub(super) fn end(&mut self, start: usize) {
        let len = self.len - start - 1;
        debug_assert!(len < 0x80, "a field of {len} bytes in a Bytes<{N}>");
        if let Some(byte) = self.bytes.get_mut(start) {
            *byte = len as u8;
        }
    }

    /// A `google.protobuf.Timestamp` (proto3: zero fields are left out), at most 24 bytes.
    #[inline]
    pub(super) fn timestamp_field(&mut self, field: u32, seconds: i64, nanos: i32) {
        let parts = (five_byte_seconds(seconds), u32::try_from(nanos));
        if let (true, Some(seconds), Ok(nanos)) = (field < 16, parts.0, parts.1) {
            return self.timestamp_of_parts(field, seconds, nanos);
        }
        let timestamp = self.begin(field);
        if seconds != 0 {
            self.uint64_field(TIMESTAMP_SECONDS, seconds as u64);
        }
        if nanos != 0 {
            self.uint64_field(TIMESTAMP_NANOS, i64::from(nanos) as u64);
        }
        self.end(timestamp);
    }

    /// A `google.protobuf.Timestamp` in `field` (below 16) of `seconds`, the seconds field
    /// [`five_byte_seconds`] made, and `nanos`: the field's head and its seconds in one word,
    /// the nanoseconds in another.
    #[inline(always)]
    pub(super) fn timestamp_of_parts(&mut self, field: u32, seconds: FiveByteSeconds, nanos: u32) {
        debug_assert!(field < 16, "a timestamp in field {field}");
        let nanos_len = if nanos == 0 {
            0
        } else {
            1 + varint_len(nanos.into())
        };
        let head = key(field, LENGTH_DELIMITED) | ((6 + nanos_len as u64) << 8) | (seconds.0 << 16);
        self.word(head, 8);
        if nanos != 0 {
            let continuation = HIGH_BITS & ((1 << (8 * (nanos_len - 2))) - 1);
            let varint = spread_groups(nanos.into()) | continuation;
            self.word(key(TIMESTAMP_NANOS, VARINT) | (varint << 8), nanos_len);
        }
    }
}

/// The `seconds` field of a `google.protobuf.Timestamp` for a time from 1978 to 3058 (every
/// time in use): its tag and five bytes of varint, in the low six bytes of a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FiveByteSeconds(u64);

/// The `seconds` field of `seconds`, if it is from 2^28 to 2^35 (five bytes of varint).
#[inline]
pub(crate) fn five_byte_seconds(seconds: i64) -> Option<FiveByteSeconds> {
    // Continuation bits on the first four of the five bytes.
    (1 << 28..1 << 35).contains(&seconds).then(|| {
        let varint = spread_groups(seconds as u64) | 0x8080_8080;
        FiveByteSeconds(key(TIMESTAMP_SECONDS, VARINT) | (varint << 8))
    })
}

/// The one-byte key of a field below 16.
const fn key(field: u32, wire_type: u32) -> u64 {
    ((field << 3) | wire_type) as u64
}

const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);

/// `value` as a varint in the low bytes of a word, and its length, for values below 2^56 (at
/// most eight bytes): the groups of seven bits spread one to a byte, continuation bits on all
/// bytes but the last.
#[inline]
fn varint_word(value: u64) -> Option<(u64, usize)> {
    if value < 0x80 {
        return Some((value, 1));
    }
    if value >= 1 << 56 {
        return None;
    }
    let len = varint_len(value);
    let continuation = HIGH_BITS & ((1 << (8 * (len - 1))) - 1);
    Some((spread_groups(value) | continuation, len))
}

/// The groups of seven bits of `value` (below 2^56), one to a byte.
#[inline]
fn spread_groups(value: u64) -> u64 {
    // Halving the spread three times (28 bits to each half word, 14 to each quarter, 7 to
    // each byte): 12 operations where a shift per group took 24.
    let word = (value & 0x0fff_ffff) | ((value & 0x00ff_ffff_f000_0000) << 4);
    let word = (word & 0x0000_3fff_0000_3fff) | ((word & 0x0fff_c000_0fff_c000) << 2);
    (word & 0x007f_007f_007f_007f) | ((word & 0x3f80_3f80_3f80_3f80) << 1)
}

/// Field numbers of `google.protobuf.Timestamp`.
pub(super) const TIMESTAMP_SECONDS: u32 = 1;
pub(super) const TIMESTAMP_NANOS: u32 = 2;

#[inline]
pub(super) fn varint(out: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        out.push(value as u8);
    } else {
        append::<18>(out, |bytes| bytes.varint(value));
    }
}

pub(super) fn varint_len(value: u64) -> usize {
    // One byte per started group of 7 bits, and one for 0: `bits.div_ceil(7)` for 1 to 64
    // bits, without the division.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    (bits * 9 + 64) / 64
}

#[inline]
pub(super) fn tag(out: &mut Vec<u8>, field: u32, wire_type: u32) {
    varint(out, u64::from((field << 3) | wire_type));
}

#[inline]
pub(super) fn uint64_field(out: &mut Vec<u8>, field: u32, value: u64) {
    append::<24>(out, |bytes| bytes.uint64_field(field, value));
}

/// `int32`, `int64` and enums: negative values take ten bytes, as protobuf defines them.
pub(super) fn int64_field(out: &mut Vec<u8>, field: u32, value: i64) {
    uint64_field(out, field, value as u64);
}

pub(super) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// `sint32` and `sint64`.
pub(super) fn sint64_field(out: &mut Vec<u8>, field: u32, value: i64) {
    uint64_field(out, field, zigzag(value));
}

#[inline]
pub(super) fn double_field(out: &mut Vec<u8>, field: u32, value: f64) {
    append::<16>(out, |bytes| bytes.double_field(field, value));
}

/// A `google.protobuf.Timestamp`.
pub(super) fn timestamp_field(out: &mut Vec<u8>, field: u32, seconds: i64, nanos: i32) {
    append::<32>(out, |bytes| bytes.timestamp_field(field, seconds, nanos));
}

/// A string field made of `parts` (a family name and its suffix).
pub(super) fn string_field(out: &mut Vec<u8>, field: u32, parts: &[&str]) {
    tag(out, field, LENGTH_DELIMITED);
    varint(out, parts.iter().map(|part| part.len() as u64).sum());
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
}

/// Starts a length-delimited field; returns where its length goes, for [`end`].
#[inline]
pub(super) fn begin(out: &mut Vec<u8>, field: u32) -> usize {
    if field < 16 {
        out.extend_from_slice(&[((field << 3) | LENGTH_DELIMITED) as u8, 0]);
    } else {
        tag(out, field, LENGTH_DELIMITED);
        out.push(0);
    }
    out.len() - 1
}

/// Bytes [`begin_delimited`] leaves for a message's length: enough for any message under 2 MiB,
/// so that a large family (a scrape's bulk) is not moved to make room for its length.
const DELIMITED_ROOM: usize = 3;

/// Starts a message framed by its length alone (the delimited stream of families); returns
/// where its length goes, for [`end_delimited`].
pub(super) fn begin_delimited(out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(&[0; DELIMITED_ROOM]);
    out.len() - DELIMITED_ROOM
}

/// Writes the length of the message started at `start` by [`begin_delimited`], now that its
/// bytes follow it: a message under 16 KiB moves down to its shorter length (a copy of at most
/// that), one of 2 MiB or more up.
pub(super) fn end_delimited(out: &mut Vec<u8>, start: usize) {
    let body = start + DELIMITED_ROOM;
    let len = out.len().saturating_sub(body);
    let width = varint_len(len as u64);
    let end = out.len();
    if width < DELIMITED_ROOM {
        out.copy_within(body..end, start + width);
        out.truncate(end - (DELIMITED_ROOM - width));
    } else if width > DELIMITED_ROOM {
        out.resize(end + width - DELIMITED_ROOM, 0);
        out.copy_within(body..end, start + width);
    }
    write_varint_in_place(out, start, len);
}

/// Writes the length of the field started at `start`, now that its bytes follow it.
#[inline]
pub(super) fn end(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start - 1;
    match out.get_mut(start) {
        Some(byte) if len < 0x80 => *byte = len as u8,
        _ => end_long(out, start, len),
    }
}

/// [`end`] of a field of 128 bytes or more: its bytes move up to make room for the length.
fn end_long(out: &mut Vec<u8>, start: usize, len: usize) {
    let width = varint_len(len as u64);
    if width > 1 {
        let end = out.len();
        out.resize(end + width - 1, 0);
        out.copy_within(start + 1..end, start + width);
    }
    write_varint_in_place(out, start, len);
}

/// Writes `value` as a varint over the bytes of `out` from `start` on, which hold room for it.
fn write_varint_in_place(out: &mut [u8], start: usize, value: usize) {
    let width = varint_len(value as u64);
    let mut value = value;
    for byte in out.iter_mut().skip(start).take(width) {
        *byte = (value as u8 & 0x7f) | if value >= 0x80 { 0x80 } else { 0 };
        value >>= 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_groups_of_seven_bits() {
        for (value, bytes) in [
            (0, &[0x00][..]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut out = Vec::new();
            varint(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(varint_len(value), bytes.len(), "{value}");
        }
    }

    /// Every length, each group's bits all set, all clear and mixed, against the definition.
    #[test]
    fn varints_of_every_length_are_their_groups_one_to_a_byte() {
        let patterns = [
            u64::MAX,
            0x5555_5555_5555_5555,
            0xaaaa_aaaa_aaaa_aaaa,
            0x0123_4567_89ab_cdef,
        ];
        for bits in 1..=64 {
            for pattern in patterns {
                let value = (pattern & (u64::MAX >> (64 - bits))) | (1 << (bits - 1));
                let mut expected = Vec::new();
                let mut rest = value;
                loop {
                    let group = (rest & 0x7f) as u8;
                    rest >>= 7;
                    if rest == 0 {
                        expected.push(group);
                        break;
                    }
                    expected.push(group | 0x80);
                }
                let mut out = Vec::new();
                varint(&mut out, value);
                assert_eq!(out, expected, "{value:#x}");
            }
        }
    }

    /// Seconds and nanoseconds around every width boundary (those of the times in use
    /// included), against the message written field by field.
    #[test]
    fn timestamps_are_their_fields_written_one_by_one() {
        let seconds = [
            0,
            1,
            127,
            (1 << 28) - 1,
            1 << 28,
            1_780_000_000,
            (1 << 35) - 1,
            1 << 35,
            i64::MAX,
            -1,
        ];
        let nanos = [
            0,
            1,
            127,
            128,
            1_000_000,
            (1 << 21) - 1,
            1 << 21,
            (1 << 28) - 1,
            1 << 28,
            999_000_000,
            999_999_999,
            -1,
        ];
        for field in [3, 15, 16] {
            for seconds in seconds {
                for nanos in nanos {
                    let mut expected = Vec::new();
                    let start = begin(&mut expected, field);
                    if seconds != 0 {
                        uint64_field(&mut expected, TIMESTAMP_SECONDS, seconds as u64);
                    }
                    if nanos != 0 {
                        int64_field(&mut expected, TIMESTAMP_NANOS, nanos.into());
                    }
                    end(&mut expected, start);
                    let mut out = Vec::new();
                    timestamp_field(&mut out, field, seconds, nanos);
                    assert_eq!(out, expected, "{field} {seconds} {nanos}");
                }
            }
        }
    }

    #[test]
    fn zigzag_interleaves_signs() {
        assert_eq!(
            [0, -1, 1, -2, i64::MAX, i64::MIN].map(zigzag),
            [0, 1, 2, 3, u64::MAX - 1, u64::MAX]
        );
    }

    #[test]
    fn a_field_longer_than_127_bytes_is_shifted_behind_its_length() {
        for len in [0, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut out = vec![0xaa];
            let start = begin(&mut out, 4);
            out.extend((0..len).map(|i| i as u8));
            out.push(0xbb);
            end(&mut out, start);
            let mut expected = vec![0xaa, 4 << 3 | 2];
            varint(&mut expected, len as u64 + 1);
            expected.extend((0..len).map(|i| i as u8));
            expected.push(0xbb);
            assert_eq!(out, expected, "{len}");
        }
    }

    /// Messages of every length width, the widths around the room left for it included.
    #[test]
    fn a_delimited_message_gets_the_shortest_length_in_front_of_it() {
        let lens = [
            0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 3_000_000,
        ];
        // Megabytes are minutes under Miri.
        for len in lens.into_iter().filter(|&len| !cfg!(miri) || len < 20_000) {
            let mut out = vec![0xaa];
            let start = begin_delimited(&mut out);
            out.extend((0..len).map(|i| (i % 251) as u8));
            end_delimited(&mut out, start);
            let mut expected = vec![0xaa];
            varint(&mut expected, len as u64);
            expected.extend((0..len).map(|i| (i % 251) as u8));
            assert!(out == expected, "{len}");
        }
    }
}
