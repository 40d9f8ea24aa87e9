//! The small YAML subset a web config uses: nested maps of scalars, and lists of scalars.

use crate::Error;
use std::path::Path;

/// A YAML value of the subset: nested maps (each key with its line), scalars, lists of scalars.
pub(super) enum Node {
    Map(Vec<(String, usize, Node)>),
    Scalar(String),
    List,
}

struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// An error at `line` of the file at `path`.
pub(super) fn config_error(path: &Path, line: usize, message: impl std::fmt::Display) -> Error {
    Error::WebConfig(format!("{}:{line}: {message}", path.display()))
}

fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if i == 0 || text[..i].ends_with(' ') => return &text[..i],
            _ => {}
        }
    }
    text
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner.to_owned();
        }
    }
    value.to_owned()
}

/// Parses `text`, the content of the file at `path` (named in errors).
pub(super) fn parse_yaml(path: &Path, text: &str) -> Result<Node, Error> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        if raw.trim_start().starts_with('\t') || raw.starts_with('\t') {
            return Err(config_error(
                path,
                number,
                "tabs are not allowed for indentation",
            ));
        }
        let content = strip_comment(raw).trim_end();
        if content.trim().is_empty() || content.trim() == "---" {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        lines.push(Line {
            number,
            indent,
            text: content.trim_start(),
        });
    }
    let mut at = 0;
    let node = parse_map(path, &lines, &mut at, 0)?;
    match lines.get(at) {
        Some(line) => Err(config_error(path, line.number, "unexpected indentation")),
        None => Ok(node),
    }
}

fn parse_map(path: &Path, lines: &[Line], at: &mut usize, indent: usize) -> Result<Node, Error> {
    let mut entries = Vec::new();
    while let Some(line) = lines.get(*at).filter(|l| l.indent == indent) {
        let Some((key, value)) = line.text.split_once(':') else {
            return Err(config_error(
                path,
                line.number,
                format!("expected `key: value`, found {:?}", line.text),
            ));
        };
        let (key, value) = (unquote(key), value.trim());
        *at += 1;
        let node = match value {
            "" => match lines.get(*at).filter(|next| next.indent > indent) {
                Some(next) if next.text.starts_with("- ") || next.text == "-" => {
                    let list_indent = next.indent;
                    while let Some(item) = lines.get(*at).filter(|l| l.indent == list_indent) {
                        if !item.text.starts_with('-') {
                            return Err(config_error(
                                path,
                                item.number,
                                "expected a list item (`- value`)",
                            ));
                        }
                        *at += 1;
                    }
                    Node::List
                }
                Some(next) => parse_map(path, lines, at, next.indent)?,
                None => Node::Scalar(String::new()),
            },
            "{}" => Node::Map(Vec::new()),
            list if list.starts_with('[') && list.ends_with(']') => Node::List,
            scalar => Node::Scalar(unquote(scalar)),
        };
        if entries
            .iter()
            .any(|(k, _, _): &(String, usize, Node)| *k == key)
        {
            return Err(config_error(
                path,
                line.number,
                format!("`{key}` is given twice"),
            ));
        }
        entries.push((key, line.number, node));
    }
    Ok(Node::Map(entries))
}
