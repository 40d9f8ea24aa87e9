//! `LabelPair`s from the pre-escaped `name="value",...` lists that families keep for the text
//! formats.
//!
//! Most lists have no `\`, so no value needs unescaping: then the quotes, found eight bytes at
//! a time, delimit the pairs, and each pair is copied whole (`name="value`, the `="` then
//! overwritten with the value's tag and length). From the first `\` on, or where a list is not
//! well formed, the pairs are read byte by byte.

use super::{LABEL_NAME, LABEL_VALUE};
use crate::protobuf_wire::{LENGTH_DELIMITED, begin, end, tag, varint};

/// Writes the pre-escaped list `list` as `LabelPair`s in `field`, unescaping the values. A
/// list that is not well formed (the API lets callers pass any text) still gives pairs, never
/// a panic: a name without `="` takes the rest as its name.
pub(super) fn escaped_label_pairs(out: &mut Vec<u8>, field: u32, list: &str) {
    let list = list.as_bytes();
    let rest = plain_pairs(out, field, list);
    escaped_pairs(out, field, &list[rest.min(list.len())..]);
}

/// Writes the pairs of `list` from its start up to the first `\` or the first pair that is not
/// `name="value"` (followed by a `,` or not); returns where the others start.
fn plain_pairs(out: &mut Vec<u8>, field: u32, list: &[u8]) -> usize {
    let mut pair_start = 0;
    while pair_start < list.len() {
        let Some((open, close)) = plain_pair_at(list, pair_start) else {
            return pair_start;
        };
        plain_pair(out, field, list, pair_start, open, close);
        pair_start = close + 1;
        if list.get(pair_start) == Some(&b',') {
            pair_start += 1;
        }
    }
    pair_start
}

/// The opening and closing quotes of the pair at `start` in `list`, if it is `name="value"`
/// without a `\`.
///
/// Two looks for the next `"` or `\`: the first must be the opening quote (after the `=`), the
/// second the closing one. The name then holds no `="` (its `"` would have been found first),
/// so the pair is the one the byte-by-byte reader finds.
#[inline]
fn plain_pair_at(list: &[u8], start: usize) -> Option<(usize, usize)> {
    let open = next_quote(list, start)?;
    if open == start || list.get(open - 1) != Some(&b'=') {
        return None;
    }
    let close = next_quote(list, open + 1)?;
    Some((open, close))
}

/// Where the first `"` at or after `from` in `list` is, if no `\` comes before it.
#[inline]
fn next_quote(list: &[u8], mut from: usize) -> Option<usize> {
    while from < list.len() {
        let chunk = chunk_at(list, from);
        let quotes = bytes_equal_to(chunk, b'"');
        let escapes = bytes_equal_to(chunk, b'\\');
        if quotes | escapes != 0 {
            // The lowest of the bytes found; past the end of `list` the chunk is zeros.
            let quote = quotes.trailing_zeros();
            return (quote < escapes.trailing_zeros()).then_some(from + quote as usize / 8);
        }
        from += CHUNK;
    }
    None
}

/// Writes the pair of `list` from `start` to the closing quote `close`, its opening quote at
/// `open` (`start < open < close`, `=` before `open`): when it is shorter than 128 bytes, as
/// `name="value` copied whole, the `="` overwritten with the value's tag and length.
#[inline]
fn plain_pair(out: &mut Vec<u8>, field: u32, list: &[u8], start: usize, open: usize, close: usize) {
    let (Some(text), Some(name_len)) = (list.get(start..close), (open - start).checked_sub(1))
    else {
        return;
    };
    let pair_len = text.len() + 2;
    if field >= 16 || pair_len >= 0x80 {
        let (name, rest) = text.split_at(name_len);
        return label_pair(out, field, name, rest.get(2..).unwrap_or_default());
    }
    let key = |field: u32| ((field << 3) | LENGTH_DELIMITED) as u8;
    let header = [key(field), pair_len as u8, key(LABEL_NAME), name_len as u8];
    out.reserve(header.len() + text.len());
    let between = out.len() + header.len() + name_len;
    out.extend_from_slice(&header);
    out.extend_from_slice(text);
    if let Some([tag, len]) = out.get_mut(between..between + 2) {
        *tag = key(LABEL_VALUE);
        *len = (text.len() - name_len - 2) as u8;
    }
}

/// One pair, its name and value as they are written.
pub(super) fn label_pair(out: &mut Vec<u8>, field: u32, name: &[u8], value: &[u8]) {
    let pair = begin(out, field);
    for (field, text) in [(LABEL_NAME, name), (LABEL_VALUE, value)] {
        tag(out, field, LENGTH_DELIMITED);
        varint(out, text.len() as u64);
        out.extend_from_slice(text);
    }
    end(out, pair);
}

/// Writes the pairs of `list` byte by byte, unescaping their values.
fn escaped_pairs(out: &mut Vec<u8>, field: u32, mut list: &[u8]) {
    while !list.is_empty() {
        list = escaped_pair(out, field, list);
        if let [b',', tail @ ..] = list {
            list = tail;
        }
    }
}

/// Writes the pair `list` starts with; returns what follows its closing quote.
fn escaped_pair<'a>(out: &mut Vec<u8>, field: u32, list: &'a [u8]) -> &'a [u8] {
    let name_end = list
        .windows(2)
        .position(|pair| pair == b"=\"")
        .unwrap_or(list.len());
    let (name, after) = list.split_at(name_end);
    let pair = begin(out, field);
    tag(out, LABEL_NAME, LENGTH_DELIMITED);
    varint(out, name.len() as u64);
    out.extend_from_slice(name);
    let value = begin(out, LABEL_VALUE);
    let mut bytes = after.get(2..).unwrap_or_default().iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'"' => break,
            b'\\' => match bytes.next() {
                Some(b'n') => out.push(b'\n'),
                Some(&escaped) => out.push(escaped),
                None => out.push(b'\\'),
            },
            byte => out.push(byte),
        }
    }
    end(out, value);
    end(out, pair);
    bytes.as_slice()
}

/// Bytes looked at at once: a word's worth.
const CHUNK: usize = 8;

/// The [`CHUNK`] bytes of `list` from `start` on (`start` within it), little-endian, zeros
/// past its end.
#[inline]
fn chunk_at(list: &[u8], start: usize) -> u64 {
    if let Some(chunk) = list.get(start..start + CHUNK) {
        return chunk.try_into().map_or(0, u64::from_le_bytes);
    }
    let tail = list.get(start..).unwrap_or_default();
    match list.get(list.len().wrapping_sub(CHUNK)..) {
        // The bytes that end the list, those before `start` shifted out.
        Some(last) => {
            last.try_into().map_or(0, u64::from_le_bytes) >> (8 * (CHUNK - tail.len()) as u32)
        }
        None => tail
            .iter()
            .rev()
            .fold(0, |chunk, &byte| (chunk << 8) | u64::from(byte)),
    }
}

const LOW_SEVEN: u64 = u64::from_le_bytes([0x7f; 8]);

/// The high bit of each byte of `chunk` that is `byte`, and no other bit: each byte is
/// compared without a borrow or carry crossing into the next.
#[inline]
fn bytes_equal_to(chunk: u64, byte: u8) -> u64 {
    let differs = chunk ^ u64::from_le_bytes([byte; 8]);
    !(((differs & LOW_SEVEN) + LOW_SEVEN) | differs) & !LOW_SEVEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_read_to_the_end_zero_padded() {
        let list: Vec<u8> = (1..=20).collect();
        for len in [5, 8, 9, 20] {
            let list = &list[..len];
            for start in 0..len {
                let mut expected = [0; CHUNK];
                let available = (len - start).min(CHUNK);
                expected[..available].copy_from_slice(&list[start..start + available]);
                assert_eq!(
                    chunk_at(list, start),
                    u64::from_le_bytes(expected),
                    "{len} {start}"
                );
            }
        }
    }

    #[test]
    fn every_byte_equal_is_found_and_no_other() {
        for byte in [b'"', b'\\', 0, 1, 0x7f, 0x80, 0xff] {
            for other in 0..=255u8 {
                let chunk = [byte, other, byte, byte ^ 1, other, byte, 0, 0xff];
                let found = bytes_equal_to(u64::from_le_bytes(chunk), byte).to_le_bytes();
                assert_eq!(
                    found,
                    chunk.map(|b| if b == byte { 0x80 } else { 0 }),
                    "{byte} {other}"
                );
            }
        }
    }

    /// Every list gives the pairs the byte-by-byte reader gives.
    #[test]
    fn the_fast_path_writes_what_the_escaping_path_writes() {
        let long_value = format!("k=\"{}\",a=\"b\"", "v".repeat(200));
        for list in [
            "",
            r#"a="1""#,
            r#"method="get",path="/api/v1/items/12345678""#,
            r#"a="",b="x""#,
            r##"a="#x",b="x#""##,
            r#"a="x\"y",b="\\",c="\n""#,
            r#"a="1",b="\\",c="3""#,
            r#"long_label_name_over_eight="value with = and , inside""#,
            "é=\"ü\"",
            "a=b=\"1\"",
            "a=\"1\"=\"2\"",
            "a=\"1\",\"2\"",
            "\"a\"",
            "a=\"1\"b=\"2\"",
            "a=\"1",
            "a=\"1\",b",
            "a",
            ",",
            ",,",
            long_value.as_str(),
            // A `\` or `"` in a name, a `\` only in a later pair, one right after a quote.
            r#"a\b="1""#,
            r#"a"b="1""#,
            r#"a="1",b="\"""#,
            r#"abcdefg="\n""#,
            r#"abcdef="1\",b="2""#,
        ]
        .into_iter()
        .map(str::to_owned)
        // Quotes and escapes at each position around the 8-byte chunks.
        .chain((0..20).flat_map(|len| {
            let value = "v".repeat(len);
            [
                format!(r#"name="{value}",other="{value}""#),
                format!(r#"n="{value}\"",m="1""#),
                format!(r#"{}="1",b="{value}""#, "k".repeat(len + 1)),
            ]
        })) {
            let list = list.as_str();
            let mut fast = Vec::new();
            escaped_label_pairs(&mut fast, 1, list);
            let mut slow = Vec::new();
            escaped_pairs(&mut slow, 1, list.as_bytes());
            assert_eq!(fast, slow, "{list}");
        }
    }
}
