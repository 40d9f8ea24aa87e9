//! `http_server_config`: extra response headers, checked as exporter-toolkit checks them.

use super::yaml::{Node, config_error};
use crate::Error;
use hyper::header::{HeaderName, HeaderValue};
use std::path::Path;

/// The headers exporter-toolkit lets a file set, with the values it allows (`None`: any).
/// The list is closed on purpose, as there: other headers are refused.
const CONFIGURABLE: [(&str, Option<&[&str]>); 5] = [
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

/// The response headers of `http_server_config` (its entries).
pub(super) fn response_headers(
    path: &Path,
    entries: Vec<(String, usize, Node)>,
) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
    let mut headers = Vec::new();
    for (key, line, node) in entries {
        match (key.as_str(), node) {
            // exporter-toolkit's default is `true`; HTTP/1.1 is all this server speaks.
            ("http2", Node::Scalar(value)) if value == "false" => {}
            ("http2", _) => {
                return Err(config_error(
                    path,
                    line,
                    "HTTP/2 is not served (HTTP/1.1 only); remove `http2` or set it to false",
                ));
            }
            ("headers", Node::Map(entries)) => {
                for (name, header_line, value) in entries {
                    headers.push(header(path, header_line, &name, value)?);
                }
            }
            ("headers", _) => return Err(config_error(path, line, "`headers` must be a map")),
            (other, _) => {
                return Err(config_error(
                    path,
                    line,
                    format!("unknown HTTP setting `{other}`; expected http2 or headers"),
                ));
            }
        }
    }
    Ok(headers)
}

fn header(
    path: &Path,
    line: usize,
    name: &str,
    value: Node,
) -> Result<(HeaderName, HeaderValue), Error> {
    let Some((_, allowed)) = CONFIGURABLE.iter().find(|(known, _)| *known == name) else {
        let known: Vec<&str> = CONFIGURABLE.iter().map(|(known, _)| *known).collect();
        return Err(config_error(
            path,
            line,
            format!(
                "HTTP header `{name}` cannot be configured; expected one of: {}",
                known.join(", ")
            ),
        ));
    };
    let Node::Scalar(value) = value else {
        return Err(config_error(path, line, format!("`{name}` needs a value")));
    };
    if let Some(allowed) = allowed.filter(|allowed| !allowed.contains(&value.as_str())) {
        return Err(config_error(
            path,
            line,
            format!(
                "`{name}` must be one of {}, not `{value}`",
                allowed.join(", ")
            ),
        ));
    }
    let value = HeaderValue::from_str(&value)
        .map_err(|_| config_error(path, line, format!("`{name}`: not a valid header value")))?;
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| config_error(path, line, format!("`{name}`: not a valid header name")))?;
    Ok((name, value))
}
