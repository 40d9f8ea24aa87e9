//! Just enough of the protobuf wire format for remote write requests: varints, fixed 64-bit
//! doubles, and length-delimited fields whose length is computed before they are written, so
//! that a request is written once, front to back, into one buffer.

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;

pub(super) fn varint_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_tag(out: &mut Vec<u8>, field: u32, wire_type: u64) {
    put_varint(out, (u64::from(field) << 3) | wire_type);
}

/// The size of a field's tag (every field number used here is below 16: one byte).
pub(super) const TAG_LEN: usize = 1;

/// The size of a length-delimited field whose content is `len` bytes.
pub(super) fn len_field_size(len: usize) -> usize {
    TAG_LEN + varint_len(len as u64) + len
}

/// The header of a length-delimited field (a string, a message, a packed list) of `len` bytes.
pub(super) fn put_len_header(out: &mut Vec<u8>, field: u32, len: usize) {
    put_tag(out, field, LEN);
    put_varint(out, len as u64);
}

pub(super) fn put_str(out: &mut Vec<u8>, field: u32, text: &str) {
    put_len_header(out, field, text.len());
    out.extend_from_slice(text.as_bytes());
}

pub(super) fn put_double(out: &mut Vec<u8>, field: u32, value: f64) {
    put_tag(out, field, FIXED64);
    out.extend_from_slice(&value.to_le_bytes());
}

/// The size of a double field.
pub(super) const DOUBLE_FIELD_LEN: usize = TAG_LEN + 8;

/// An `int64`, `uint32` or enum field (negative `int64`s take ten bytes, as protobuf says).
pub(super) fn put_varint_field(out: &mut Vec<u8>, field: u32, value: u64) {
    put_tag(out, field, VARINT);
    put_varint(out, value);
}

pub(super) fn varint_field_size(value: u64) -> usize {
    TAG_LEN + varint_len(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_groups_of_seven_bits() {
        for (value, bytes) in [
            (0_u64, &[0x00][..]),
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
            put_varint(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(varint_len(value), bytes.len());
        }
    }

    #[test]
    fn fields_carry_their_number_and_wire_type() {
        let mut out = Vec::new();
        put_str(&mut out, 1, "ab");
        put_double(&mut out, 1, 1.0);
        put_varint_field(&mut out, 2, 5);
        assert_eq!(
            out,
            [
                0x0a, 2, b'a', b'b', 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 5
            ]
        );
        assert_eq!(len_field_size(2), 4);
        assert_eq!(varint_field_size(5), 2);
    }
}
