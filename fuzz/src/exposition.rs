//! A strict parser of the two exposition formats, from their specifications (Prometheus text
//! 0.0.4 and the ABNF of OpenMetrics 1.0): a line that a conforming scraper could read
//! differently, or not at all, is an error. Only what promexport writes is accepted: metadata
//! lines, samples without timestamps and, in OpenMetrics, exemplars.

/// Which format a text is parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// `# HELP`, `# TYPE` or `# UNIT`, unescaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub keyword: String,
    pub name: String,
    pub text: String,
}

/// One sample line, its label values unescaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub exemplar: Option<Exemplar>,
}

/// The exemplar of an OpenMetrics sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp: Option<f64>,
}

/// What an exposition says, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposition {
    pub metadata: Vec<Metadata>,
    pub samples: Vec<Sample>,
}

/// Parses a whole exposition.
pub fn parse(text: &str, syntax: Syntax) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    let mut ended = false;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let context = |e: String| format!("line {}: {e}: {line:?}", number + 1);
        let line = line
            .strip_suffix('\n')
            .ok_or_else(|| context("no final newline".into()))?;
        if ended {
            return Err(context("after # EOF".into()));
        }
        if line == "# EOF" && syntax == Syntax::OpenMetrics {
            ended = true;
        } else if let Some(comment) = line.strip_prefix("# ") {
            exposition
                .metadata
                .push(metadata(comment, syntax).map_err(context)?);
        } else {
            exposition
                .samples
                .push(sample(line, syntax).map_err(context)?);
        }
    }
    if syntax == Syntax::OpenMetrics && !ended {
        return Err("no # EOF".into());
    }
    Ok(exposition)
}

fn metadata(comment: &str, syntax: Syntax) -> Result<Metadata, String> {
    let (keyword, rest) = comment.split_once(' ').ok_or("no metric name")?;
    let mut cursor = Cursor(rest);
    let name = cursor.metric_name()?;
    cursor.expect(' ')?;
    let text = match (keyword, syntax) {
        ("HELP", _) => unescape(cursor.0, syntax == Syntax::OpenMetrics)?,
        ("TYPE", _) | ("UNIT", Syntax::OpenMetrics) => {
            if cursor.0.is_empty()
                || !cursor
                    .0
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(format!("malformed {keyword}"));
            }
            cursor.0.to_owned()
        }
        _ => return Err(format!("unexpected comment `{keyword}`")),
    };
    Ok(Metadata {
        keyword: keyword.to_owned(),
        name,
        text,
    })
}

fn sample(line: &str, syntax: Syntax) -> Result<Sample, String> {
    let mut cursor = Cursor(line);
    let name = cursor.metric_name()?;
    let labels = if cursor.0.starts_with('{') {
        cursor.labels()?
    } else {
        Vec::new()
    };
    cursor.expect(' ')?;
    let value = cursor.value()?;
    let exemplar = match cursor.0 {
        "" => None,
        rest if syntax == Syntax::OpenMetrics && rest.starts_with(" # ") => {
            cursor.0 = &rest[3..];
            let labels = cursor.labels()?;
            cursor.expect(' ')?;
            let value = cursor.value()?;
            let timestamp = if cursor.0.is_empty() {
                None
            } else {
                cursor.expect(' ')?;
                Some(cursor.value()?)
            };
            Some(Exemplar {
                labels,
                value,
                timestamp,
            })
        }
        rest => return Err(format!("unexpected {rest:?} after the value")),
    };
    if !cursor.0.is_empty() {
        return Err(format!("unexpected {:?} at the end", cursor.0));
    }
    Ok(Sample {
        name,
        labels,
        value,
        exemplar,
    })
}

/// Unescapes a HELP text: `\\` and `\n` in both formats, `\"` in OpenMetrics, where a bare `"`
/// is not allowed; any other escape is an error in both.
fn unescape(text: &str, quotes_escaped: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if quotes_escaped => out.push('"'),
                other => return Err(format!("invalid escape \\{other:?}")),
            },
            '"' if quotes_escaped => return Err("unescaped `\"`".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    fn expect(&mut self, c: char) -> Result<(), String> {
        self.0 = self
            .0
            .strip_prefix(c)
            .ok_or_else(|| format!("expected {c:?} at {:?}", self.0))?;
        Ok(())
    }

    fn take_while(&mut self, keep: impl Fn(usize, u8) -> bool) -> &str {
        let end = self
            .0
            .bytes()
            .enumerate()
            .find(|(i, b)| !keep(*i, *b))
            .map_or(self.0.len(), |(i, _)| i);
        let (taken, rest) = self.0.split_at(end);
        self.0 = rest;
        taken
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    fn metric_name(&mut self) -> Result<String, String> {
        let name = self.take_while(|i, b| {
            b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
        });
        if name.is_empty() {
            return Err(format!("expected a metric name at {:?}", self.0));
        }
        Ok(name.to_owned())
    }

    /// `{name="value",...}`, values unescaped (`\\`, `\"`, `\n`, nothing else).
    fn labels(&mut self) -> Result<Vec<(String, String)>, String> {
        self.expect('{')?;
        let mut labels = Vec::new();
        if self.0.starts_with('}') {
            self.0 = &self.0[1..];
            return Ok(labels);
        }
        loop {
            let name = self
                .take_while(|i, b| {
                    b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit())
                })
                .to_owned();
            if name.is_empty() {
                return Err(format!("expected a label name at {:?}", self.0));
            }
            self.expect('=')?;
            self.expect('"')?;
            let mut value = String::new();
            let mut chars = self.0.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("invalid escape in a label value: {other:?}")),
                    },
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            };
            self.0 = &self.0[end + 1..];
            labels.push((name, value));
            match self.0.as_bytes().first() {
                Some(b',') => self.0 = &self.0[1..],
                Some(b'}') => {
                    self.0 = &self.0[1..];
                    return Ok(labels);
                }
                _ => return Err(format!("expected `,` or `}}` at {:?}", self.0)),
            }
        }
    }

    /// A number as both formats spell it: `NaN`, `+Inf`, `-Inf` or a decimal float.
    fn value(&mut self) -> Result<f64, String> {
        let token = self.take_while(|_, b| b != b' ');
        match token {
            "NaN" => Ok(f64::NAN),
            "+Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            _ if !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
            {
                token.parse().map_err(|e| format!("value {token:?}: {e}"))
            }
            _ => Err(format!("malformed value {token:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_prometheus_documents() {
        let text = "# HELP http_requests_total The total \\\\ \"number\"\\nof requests.\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{method=\"post\",code=\"200\"} 1027\n\
                    http_requests_total{path=\"a\\\"b\\\\c\\nd\"} 3e-2\n\
                    up NaN\n";
        let exposition = parse(text, Syntax::Text).unwrap();
        assert_eq!(
            exposition.metadata[0].text,
            "The total \\ \"number\"\nof requests."
        );
        assert_eq!(exposition.metadata[1].text, "counter");
        assert_eq!(
            exposition.samples[1].labels,
            [("path".to_owned(), "a\"b\\c\nd".to_owned())]
        );
        assert_eq!(exposition.samples[1].value, 0.03);
        assert!(exposition.samples[2].value.is_nan());
    }

    #[test]
    fn reads_openmetrics_exemplars_and_eof() {
        let text = "# TYPE a counter\n# HELP a say \\\"hi\\\"\na_total 1 # {trace_id=\"x\"} 0.5 1.7e9\n# EOF\n";
        let exposition = parse(text, Syntax::OpenMetrics).unwrap();
        assert_eq!(exposition.metadata[1].text, "say \"hi\"");
        let exemplar = exposition.samples[0].exemplar.as_ref().unwrap();
        assert_eq!(exemplar.labels, [("trace_id".to_owned(), "x".to_owned())]);
        assert_eq!((exemplar.value, exemplar.timestamp), (0.5, Some(1.7e9)));
    }

    #[test]
    fn refuses_what_a_scraper_would_misread() {
        let refused = [
            ("a 1", Syntax::Text),
            ("a{b=\"c\\t\"} 1\n", Syntax::Text),
            ("a{b=\"c\"d\"} 1\n", Syntax::Text),
            ("a{b=\"c\",} 1\n", Syntax::Text),
            ("a{0=\"c\"} 1\n", Syntax::Text),
            ("# HELP a x\\y\n", Syntax::Text),
            ("# HELP a \"\n# EOF\n", Syntax::OpenMetrics),
            ("# comment\n", Syntax::Text),
            ("a inf\n", Syntax::Text),
            ("a 1 # {b=\"c\"} 1\n", Syntax::Text),
            ("a 1\n", Syntax::OpenMetrics),
            ("# EOF\na 1\n", Syntax::OpenMetrics),
        ];
        for (text, syntax) in refused {
            assert!(parse(text, syntax).is_err(), "{text:?}");
        }
    }
}
