//! `LabelPair`s from the pre-escaped `name="value",...` lists that families keep for the text
//! formats.
//!
//! Most lists have no `\`, so no value needs unescaping: then the quotes, found eight bytes at
//! a time, delimit the pairs, and each pair is copied whole (`name="value`, the `="` then
//! overwritten with the value's tag and length). From the first `\` on, or where a list is not
//! well formed, the pairs are read byte by byte.
//!
//! A family's own series keep the [`PairLayout`] of their lists, found when they are created:
//! their first pairs are then copied without being looked at. For the others (collectors',
//! hand-written series'): the series of a derived family all have the same names, in the same
//! order, so a [`PairTemplate`] holds them encoded, learnt from the family's first series at each
//! scrape, and a series whose list starts with them has only its values looked for and copied.

use super::{LABEL_NAME, LABEL_VALUE, METRIC_LABEL as METRIC_LABEL_FIELD};
use crate::protobuf_wire::{LENGTH_DELIMITED, begin, end, tag, varint};

/// Writes the pre-escaped list `list` as `LabelPair`s in `field`, unescaping the values. A
/// list that is not well formed (the API lets callers pass any text) still gives pairs, never
/// a panic: a name without `="` takes the rest as its name.
pub(super) fn escaped_label_pairs(out: &mut Vec<u8>, field: u32, list: &[u8]) {
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
        let found = first_quote_or_escape(chunk_at(list, from));
        if found != 0 {
            // Past the end of `list` the chunk is zeros: the byte found is in it.
            let at = from + found.trailing_zeros() as usize / 8;
            return (list.get(at) == Some(&b'"')).then_some(at);
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

/// The pairs of a pre-escaped list that can be written without being looked at: for each of
/// its first [`LAYOUT_PAIRS`] pairs, up to the first that is not plain (see [`plain_pair_at`]),
/// has an empty name, would be 128 bytes or more as a `LabelPair`, or is not followed by a `,`,
/// the lengths of its name and value; zeros after them.
///
/// Found once, when a family creates a series, and kept beside its list: a scrape then copies
/// each pair whole, as `name="value`, with no search for its quotes. A layout describes the list
/// it was found in and no other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct PairLayout([[u8; 2]; LAYOUT_PAIRS]);

/// How many pairs a [`PairLayout`] describes: 8 bytes in each series' block.
const LAYOUT_PAIRS: usize = 4;

/// How many bytes the pairs a layout describes take beyond their part of the list: 2 a pair
/// and 1 (`name="value` and 4 bytes of tags and lengths each, where the list has the quote and
/// a comma between pairs).
const LIST_TO_PAIRS: usize = 2 * LAYOUT_PAIRS + 1;

/// A [`PairLayout`] found pair by pair while a list is written from its start (by
/// `LabelSetEncoder`): the layout [`PairLayout::of`] would find in the whole list, without
/// reading it again.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PairLayoutBuilder {
    layout: PairLayout,
    pairs: usize,
    ended: bool,
}

impl PairLayoutBuilder {
    /// The next pair of the list: the length of its name if it was written as it is (a legacy
    /// name: no quote), the length of its value as written, and whether that holds an escape.
    #[inline]
    pub(crate) fn pair(&mut self, name_len: Option<usize>, value_len: usize, escaped: bool) {
        if self.ended {
            return;
        }
        let described = name_len
            .filter(|&name_len| name_len > 0 && name_len + value_len + 4 < 0x80 && !escaped);
        match (described, self.layout.0.get_mut(self.pairs)) {
            (Some(name_len), Some(slot)) => {
                *slot = [name_len as u8, value_len as u8];
                self.pairs += 1;
            }
            _ => self.ended = true,
        }
    }

    /// The layout of the pairs given so far.
    pub(crate) fn layout(&self) -> PairLayout {
        self.layout
    }
}

impl PairLayout {
    /// Nothing known: the pairs are looked for.
    pub(crate) const UNKNOWN: Self = PairLayout([[0; 2]; LAYOUT_PAIRS]);

    /// The layout of the pairs `list` starts with: the definition, which the layout found while
    /// a list is written ([`PairLayoutBuilder`]) is tested against.
    #[cfg(test)]
    pub(crate) fn of(list: &str) -> Self {
        let list = list.as_bytes();
        let mut layout = Self::UNKNOWN;
        let mut pair_start = 0;
        for slot in &mut layout.0 {
            let Some((open, close)) = plain_pair_at(list, pair_start) else {
                break;
            };
            let (name_len, value_len) = (open - 1 - pair_start, close - open - 1);
            // An empty name would end the layout; the pair's length is 2 bytes of name tag and
            // length, 2 of value tag and length, and the texts.
            if name_len == 0 || name_len + value_len + 4 >= 0x80 {
                break;
            }
            *slot = [name_len as u8, value_len as u8];
            if list.get(close + 1) != Some(&b',') {
                break;
            }
            pair_start = close + 2;
        }
        layout
    }

    /// Whether it describes any pair.
    #[inline]
    pub(crate) fn is_known(self) -> bool {
        self.0[0][0] != 0
    }

    /// Writes the `LabelPair`s (field 1) of the pairs the layout describes, `list` being the
    /// list it was found in; returns where the others start (past the `,` after the last one
    /// written), as the byte-by-byte reader would go on.
    #[inline]
    pub(crate) fn write(self, out: &mut Vec<u8>, list: &[u8]) -> usize {
        // Room for every pair, made at once and cut back: the pairs are then written into a
        // slice, where the vector's length is neither checked nor kept up to date at each step.
        const ROOM: usize = 64;
        let start = out.len();
        let room = Self::room(list);
        if room <= ROOM {
            out.extend_from_slice(&[0; ROOM]);
        } else {
            out.resize(start + room, 0);
        }
        let (written, rest) = match out.get_mut(start..) {
            Some(room) => self.write_in(room, list),
            None => (0, 0),
        };
        out.truncate(start + written);
        rest
    }

    /// The most bytes [`write_in`](Self::write_in) writes for `list`.
    #[inline]
    pub(crate) fn room(list: &[u8]) -> usize {
        list.len() + LIST_TO_PAIRS
    }

    /// [`write`](Self::write) into `room`, of [`room(list)`](Self::room) bytes or more;
    /// returns how many bytes it wrote, and where the other pairs start.
    #[inline(always)]
    pub(crate) fn write_in(self, room: &mut [u8], list: &[u8]) -> (usize, usize) {
        let (written, end) = self.write_into(room, list);
        let rest = match list.get(end) {
            Some(b',') if end > 0 => end + 1,
            _ => end,
        };
        (written, rest)
    }

    /// [`write`](Self::write) into `room`; returns how many bytes it wrote, and where the last
    /// pair written ends in `list` (past its quote).
    #[inline(always)]
    fn write_into(self, room: &mut [u8], list: &[u8]) -> (usize, usize) {
        const PAIR_KEY: u8 = ((METRIC_LABEL_FIELD << 3) | LENGTH_DELIMITED) as u8;
        const NAME_KEY: u8 = ((LABEL_NAME << 3) | LENGTH_DELIMITED) as u8;
        const VALUE_KEY: u8 = ((LABEL_VALUE << 3) | LENGTH_DELIMITED) as u8;
        // Where the next pair starts in `list`, where the last one written ends, and how many
        // bytes are written.
        let (mut pos, mut end, mut written) = (0, 0, 0);
        for [name_len, value_len] in self.0 {
            if name_len == 0 {
                break;
            }
            let text_len = name_len as usize + 2 + value_len as usize;
            let (Some(text), Some(pair)) = (
                list.get(pos..pos + text_len),
                room.get_mut(written..written + 4 + text_len),
            ) else {
                break;
            };
            let (head, body) = pair.split_at_mut(4);
            head.copy_from_slice(&[PAIR_KEY, text_len as u8 + 2, NAME_KEY, name_len]);
            // `name="value`, copied whole, its `="` then overwritten with the value's key and length.
            copy_short(body, text);
            if let Some(quote) = body.get_mut(name_len as usize..name_len as usize + 2) {
                quote.copy_from_slice(&[VALUE_KEY, value_len]);
            }
            written += 4 + text_len;
            end = pos + text_len + 1;
            // A pair after this one is described only if a `,` follows this one.
            pos = end + 1;
        }
        (written, end)
    }
}

/// Copies `from` to `to`, of the same length: up to 32 bytes in two copies of a fixed size that
/// overlap (a few moves, where a copy of a variable length calls `memcpy`).
#[inline(always)]
fn copy_short(to: &mut [u8], from: &[u8]) {
    fn two<const N: usize>(to: &mut [u8], from: &[u8]) {
        let len = from.len();
        if let (Some(to_start), Some(from_start)) = (to.get_mut(..N), from.get(..N)) {
            to_start.copy_from_slice(from_start);
        }
        if let (Some(to_end), Some(from_end)) = (
            to.get_mut(len.saturating_sub(N)..),
            from.get(len.saturating_sub(N)..),
        ) {
            if to_end.len() == N && from_end.len() == N {
                to_end.copy_from_slice(from_end);
            }
        }
    }
    match from.len() {
        16..=32 => two::<16>(to, from),
        8..16 => two::<8>(to, from),
        4..8 => two::<4>(to, from),
        _ => {
            if to.len() == from.len() {
                to.copy_from_slice(from);
            }
        }
    }
}

/// The label pairs every series of a family starts with, as its first series has them: what
/// is the same for each series of a derived family (the names, in order) is found and encoded
/// once per family and scrape, and a series' pairs are then written from its values alone.
///
/// At most [`TEMPLATE_PAIRS`] pairs of names of at most [`TEMPLATE_NAME`] bytes (on the stack:
/// 264 bytes on a 64-bit target while the family is written, nothing kept after it). A series whose list does not
/// start the same way has its other pairs read as any list is.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PairTemplate {
    pairs: [TemplatePair; TEMPLATE_PAIRS],
    len: usize,
}

const TEMPLATE_PAIRS: usize = 4;
const TEMPLATE_NAME: usize = 10;
/// The longest value a template writes (a pair then has fewer than 128 bytes).
const TEMPLATE_VALUE: usize = 40;

#[derive(Debug, Clone, Copy, Default)]
struct TemplatePair {
    /// The pair up to its value's length (`LabelPair` tag, length 0, name tag, name length,
    /// name, value tag), zero-padded: `name_len + 6` bytes with the value's length.
    head: [u8; 16],
    name_len: usize,
    /// What the list holds before the value, `name="` (`,name="` after the first pair), as two
    /// little-endian words and the masks of their bytes.
    text: [u64; 2],
    masks: [u64; 2],
    text_len: usize,
}

impl PairTemplate {
    /// The pairs `list` starts with that a template holds: up to the first one that is not
    /// plain (see [`plain_pair_at`]), has a longer name, or is not followed by a `,`.
    pub(crate) fn learn(list: &str) -> Self {
        let list = list.as_bytes();
        let mut template = PairTemplate::default();
        let mut pair_start = 0;
        while let (Some(slot), Some((open, _))) = (
            template.pairs.get_mut(template.len),
            plain_pair_at(list, pair_start),
        ) {
            let name_len = open - 1 - pair_start;
            if name_len > TEMPLATE_NAME {
                break;
            }
            let text_start = pair_start - usize::from(template.len > 0);
            let text = list.get(text_start..open + 1).unwrap_or_default();
            let mut words = [[0; 8]; 2];
            for (byte, slot) in text.iter().zip(words.iter_mut().flatten()) {
                *slot = *byte;
            }
            let mask = |len: usize| match len {
                0 => 0,
                1..8 => (1_u64 << (8 * len)) - 1,
                _ => u64::MAX,
            };
            let mut head = [0; 16];
            head[..4].copy_from_slice(&[
                ((METRIC_LABEL_FIELD << 3) | LENGTH_DELIMITED) as u8,
                0,
                ((LABEL_NAME << 3) | LENGTH_DELIMITED) as u8,
                name_len as u8,
            ]);
            head[4..4 + name_len].copy_from_slice(&list[pair_start..open - 1]);
            head[4 + name_len] = ((LABEL_VALUE << 3) | LENGTH_DELIMITED) as u8;
            *slot = TemplatePair {
                head,
                name_len,
                text: words.map(u64::from_le_bytes),
                masks: [mask(text.len()), mask(text.len().saturating_sub(8))],
                text_len: text.len(),
            };
            template.len += 1;
            let Some((_, close)) = plain_pair_at(list, pair_start) else {
                break;
            };
            if list.get(close + 1) != Some(&b',') {
                break;
            }
            pair_start = close + 2;
        }
        template
    }

    /// Writes the `LabelPair`s (field 1) of the pairs `list` starts with that follow the
    /// template; returns where the others start (past the `,` after the last one written), as
    /// the byte-by-byte reader would go on.
    #[inline]
    pub(crate) fn write(&self, out: &mut Vec<u8>, list: &[u8]) -> usize {
        let mut pos = 0;
        for pair in self.pairs.iter().take(self.len) {
            if pos + pair.text_len > list.len()
                || chunk_at(list, pos) & pair.masks[0] != pair.text[0]
                || (pair.text_len > 8 && chunk_at(list, pos + 8) & pair.masks[1] != pair.text[1])
            {
                break;
            }
            let Some(written) = pair.write(out, list, pos + pair.text_len) else {
                break;
            };
            pos = written;
        }
        if pos > 0 && list.get(pos) == Some(&b',') {
            pos += 1;
        }
        pos
    }
}

impl TemplatePair {
    /// Writes the pair whose value starts at `value` in `list`, if it holds no `\` and is at
    /// most [`TEMPLATE_VALUE`] bytes; returns where its closing quote ends.
    ///
    /// The pair is assembled on the stack: the chunks the closing quote is looked for in are
    /// stored after the head as they are read, and the whole is appended in one copy.
    #[inline]
    fn write(&self, out: &mut Vec<u8>, list: &[u8], value: usize) -> Option<usize> {
        let mut bytes = [0; 16 + TEMPLATE_VALUE + CHUNK];
        bytes[..16].copy_from_slice(&self.head);
        let value_start = self.name_len + 6;
        let mut from = value;
        let close = loop {
            if from >= list.len() {
                return None;
            }
            let chunk = chunk_at(list, from);
            let slot = value_start + (from - value);
            bytes
                .get_mut(slot..slot + CHUNK)?
                .copy_from_slice(&chunk.to_le_bytes());
            let found = first_quote_or_escape(chunk);
            if found != 0 {
                let at = from + found.trailing_zeros() as usize / 8;
                if list.get(at) != Some(&b'"') {
                    return None;
                }
                break at;
            }
            from += CHUNK;
        };
        let value_len = close - value;
        if value_len > TEMPLATE_VALUE {
            return None;
        }
        bytes[1] = (self.name_len + 4 + value_len) as u8;
        if let Some(len) = bytes.get_mut(self.name_len + 5) {
            *len = value_len as u8;
        }
        let start = out.len();
        out.extend_from_slice(&bytes);
        out.truncate(start + value_start + value_len);
        Some(close + 1)
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

const ONES: u64 = u64::from_le_bytes([1; 8]);

/// The high bit of the first byte of `chunk` (lowest address) that is `"` or `\`, and maybe
/// of some after it, or 0 when there is none: a byte equal to neither borrows nothing, so only
/// bytes after the first one found can be flagged wrongly (cheaper than an exact comparison of each byte).
#[inline]
fn first_quote_or_escape(chunk: u64) -> u64 {
    let quotes = chunk ^ u64::from_le_bytes([b'"'; 8]);
    let escapes = chunk ^ u64::from_le_bytes([b'\\'; 8]);
    ((quotes.wrapping_sub(ONES) & !quotes) | (escapes.wrapping_sub(ONES) & !escapes)) & !LOW_SEVEN
}

const LOW_SEVEN: u64 = u64::from_le_bytes([0x7f; 8]);

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
    fn the_first_quote_or_escape_is_found() {
        for byte in [b'"', b'\\'] {
            for other in [0, 1, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xa2, 0xdc, 0xff] {
                for at in 0..CHUNK {
                    let mut chunk = [other; CHUNK];
                    chunk[at] = byte;
                    chunk[(at + 3) % CHUNK] = b'"';
                    let first = chunk.iter().position(|&b| b == b'"' || b == b'\\');
                    let found = first_quote_or_escape(u64::from_le_bytes(chunk));
                    assert_eq!(
                        found.trailing_zeros() as usize / 8,
                        first.unwrap(),
                        "{chunk:?}"
                    );
                }
                assert_eq!(first_quote_or_escape(u64::from_le_bytes([other; CHUNK])), 0);
            }
        }
    }

    /// Lists well and badly formed, with quotes and escapes at each position around the chunks.
    fn lists() -> Vec<String> {
        let long_value = format!("k=\"{}\",a=\"b\"", "v".repeat(200));
        [
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
            // What a template is learnt from and then meets.
            r#"method="get",path="/x""#,
            r#"method="get",path="/x\"y""#,
            r#"method="get""#,
            r#"method="get","#,
            r#"method="get",,path="/x""#,
            r#"method="get",path="/x",extra="1""#,
            r#"path="/x",method="get""#,
            r#"methodX="1",path="/x""#,
            r#"method="get",path=""#,
            r#"a="1",b="2",c="3",d="4",e="5""#,
            r#"a="1",b="2",c="3",d="4",e="\\""#,
        ]
        .into_iter()
        .map(str::to_owned)
        .chain((0..48).flat_map(|len| {
            let value = "v".repeat(len);
            [
                format!(r#"name="{value}",other="{value}""#),
                format!(r#"n="{value}\"",m="1""#),
                format!(r#"{}="1",b="{value}""#, "k".repeat(len + 1)),
            ]
        }))
        .collect()
    }

    /// Every list gives the pairs the byte-by-byte reader gives.
    #[test]
    fn the_fast_path_writes_what_the_escaping_path_writes() {
        for list in lists() {
            let mut fast = Vec::new();
            escaped_label_pairs(&mut fast, 1, list.as_bytes());
            let mut slow = Vec::new();
            escaped_pairs(&mut slow, 1, list.as_bytes());
            assert_eq!(fast, slow, "{list}");
        }
    }

    /// Whatever list a template is learnt from, every list then gives the pairs the byte-by-byte
    /// reader gives.
    #[test]
    fn a_template_writes_what_the_escaping_path_writes() {
        let lists = lists();
        for first in &lists {
            let template = PairTemplate::learn(first);
            for list in &lists {
                let mut fast = Vec::new();
                let rest = template.write(&mut fast, list.as_bytes());
                escaped_label_pairs(&mut fast, 1, &list.as_bytes()[rest..]);
                let mut slow = Vec::new();
                escaped_pairs(&mut slow, 1, list.as_bytes());
                assert_eq!(fast, slow, "{first} then {list}");
            }
        }
    }
    /// Every list, written from its layout and then as any list, gives the pairs the
    /// byte-by-byte reader gives.
    #[test]
    fn a_layout_writes_what_the_escaping_path_writes() {
        for list in lists() {
            let mut fast = Vec::new();
            let rest = PairLayout::of(&list).write(&mut fast, list.as_bytes());
            escaped_label_pairs(&mut fast, 1, &list.as_bytes()[rest..]);
            let mut slow = Vec::new();
            escaped_pairs(&mut slow, 1, list.as_bytes());
            assert_eq!(fast, slow, "{list}");
        }
    }

    #[test]
    fn a_layout_describes_the_first_plain_pairs() {
        let long = "v".repeat(122);
        let too_long = format!(r#"ab="{long}",b="1""#);
        let at_most = format!(r#"a="{long}",b="1""#);
        for (list, expected) in [
            ("", [[0; 2]; 4]),
            (r#"a="""#, [[1, 0], [0; 2], [0; 2], [0; 2]]),
            (
                r#"method="get",path="/x""#,
                [[6, 3], [4, 2], [0; 2], [0; 2]],
            ),
            (
                r#"a="1",bb="22",c="",d="4",e="5""#,
                [[1, 1], [2, 2], [1, 0], [1, 1]],
            ),
            (r#"a="1",b="\n",c="3""#, [[1, 1], [0; 2], [0; 2], [0; 2]]),
            (r#"a="1"b="2""#, [[1, 1], [0; 2], [0; 2], [0; 2]]),
            (r#"a="1",,b="2""#, [[1, 1], [2, 1], [0; 2], [0; 2]]),
            (r#"="1",b="2""#, [[0; 2]; 4]),
            (r#"a="1"#, [[0; 2]; 4]),
            (too_long.as_str(), [[0; 2]; 4]),
            (at_most.as_str(), [[1, 122], [1, 1], [0; 2], [0; 2]]),
        ] {
            assert_eq!(PairLayout::of(list), PairLayout(expected), "{list}");
        }
    }

    #[test]
    fn short_copies_copy_every_byte() {
        let from: Vec<u8> = (1..=80).collect();
        for len in 0..=80 {
            let mut to = vec![0; len];
            copy_short(&mut to, &from[..len]);
            assert_eq!(to, &from[..len], "{len}");
        }
    }

    /// Short lists and long ones, of one pair to as many as a layout holds.
    #[test]
    fn a_layout_of_every_pair_writes_them_all() {
        for value_len in [0, 5, 20, 100] {
            let value = "v".repeat(value_len);
            for pairs in 1..=LAYOUT_PAIRS {
                let list: Vec<String> = (0..pairs).map(|i| format!(r#"n{i}="{value}""#)).collect();
                let list = list.join(",");
                let mut out = Vec::new();
                let written = PairLayout::of(&list).write(&mut out, list.as_bytes());
                assert_eq!(written, list.len(), "{list}");
                assert_eq!(out.len(), list.len() + 2 * pairs + 1, "{list}");
            }
        }
    }
}
