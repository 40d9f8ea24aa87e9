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

pub(super) fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    // One byte per started group of 7 bits, and one for 0.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

pub(super) fn tag(out: &mut Vec<u8>, field: u32, wire_type: u32) {
    varint(out, u64::from((field << 3) | wire_type));
}

pub(super) fn uint64_field(out: &mut Vec<u8>, field: u32, value: u64) {
    tag(out, field, VARINT);
    varint(out, value);
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

pub(super) fn double_field(out: &mut Vec<u8>, field: u32, value: f64) {
    tag(out, field, FIXED64);
    out.extend_from_slice(&value.to_le_bytes());
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
pub(super) fn begin(out: &mut Vec<u8>, field: u32) -> usize {
    tag(out, field, LENGTH_DELIMITED);
    begin_delimited(out)
}

/// Starts a message framed by its length alone (the delimited stream of families).
pub(super) fn begin_delimited(out: &mut Vec<u8>) -> usize {
    out.push(0);
    out.len() - 1
}

/// Writes the length of the field started at `start`, now that its bytes follow it.
pub(super) fn end(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start - 1;
    let width = varint_len(len as u64);
    if width > 1 {
        let end = out.len();
        out.resize(end + width - 1, 0);
        out.copy_within(start + 1..end, start + width);
    }
    let mut value = len;
    for byte in &mut out[start..start + width] {
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
}
