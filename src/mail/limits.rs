//! Limits on what the MIME parser is asked to read.
//!
//! mail-parser never panics, but it builds one nested `Message` per level of
//! `message/rfc822` nesting and drops them recursively: about 50,000 levels
//! (7 MB of mail, well under any size limit) overflow an 8 MB stack and abort
//! the whole daemon, which no `catch_unwind` can stop. So the danger has to
//! be measured before the parser sees the bytes. This module does that with
//! one cheap pass over the lines, following MIME boundaries the way the
//! parser does, and decides per limit:
//!
//! - a message or a top-level header section over its limit is quarantined
//!   whole ([`OverLimit`]): there is no sensible message left to answer;
//! - anything deeper, later or longer than its limit is cut from a copy that
//!   the parser reads, and each cut is described for the message record.
//!
//! The raw bytes are always stored whole either way: nothing is lost.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use mail_parser::{GetHeader, Header, HeaderName, HeaderValue, MessageParser};

/// How far a message may go. Defaults are far beyond real mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Larger messages are quarantined.
    pub message_bytes: usize,
    /// A larger top-level header section is quarantined; a MIME part with a
    /// larger one is cut off with everything after it.
    pub header_bytes: usize,
    /// Header lines longer than this are shortened.
    pub line_bytes: usize,
    /// MIME entities nested deeper than this (the message itself is level
    /// 1) are cut off with everything after them.
    pub depth: usize,
    /// MIME entities beyond this count are cut off.
    pub parts: usize,
    /// To and Cc addresses kept; the rest are dropped from the parsed
    /// message, so they never become ticket participants.
    pub recipients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: 50 * 1024 * 1024,
            header_bytes: 1024 * 1024,
            line_bytes: 64 * 1024,
            depth: 30,
            parts: 1000,
            recipients: 1000,
        }
    }
}

/// A message over a limit that leaves nothing worth parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverLimit {
    #[error("too large: {size} bytes, intake.max_message_bytes is {max}")]
    Message { size: usize, max: usize },
    #[error("header section too large: over {max} bytes (intake.max_header_bytes)")]
    Header { max: usize },
    #[error("{count} message/* or multipart/digest type names: more nested messages than can be read safely (limit {MAX_MARKERS})")]
    Markers { count: usize },
}

/// The bytes the parser may read, and what was cut to get them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted<'a> {
    pub bytes: Cow<'a, [u8]>,
    /// One sentence per kind of cut, for the message record.
    pub cuts: Vec<String>,
}

/// mail-parser decodes and parses base64 or quoted-printable
/// `message/rfc822` parts this many levels deep; deeper ones stay binary.
const MAX_ENCODED_LEVELS: usize = 3;
/// Nested messages are what overflows the parser's stack, and each level
/// needs one of these markers; with no more of them than this, no reading
/// of the structure (ours or the parser's) can nest deep enough to hurt.
pub const MAX_MARKERS: usize = 2000;

/// Measures `raw` against `limits`: the bytes to parse (borrowed when
/// nothing was cut) or the reason to quarantine. Linear in the size of the
/// message, and never panics.
pub fn fit<'a>(raw: &'a [u8], limits: &Limits) -> Result<Fitted<'a>, OverLimit> {
    if raw.len() > limits.message_bytes {
        return Err(OverLimit::Message {
            size: raw.len(),
            max: limits.message_bytes,
        });
    }
    let mut scan = Scan {
        limits,
        parser: MessageParser::default(),
        parts: 0,
        long_lines: Vec::new(),
        cut: None,
    };
    scan.entity(raw, 0, 0);
    if let Some(Cut {
        reason: Reason::TopHeader,
        ..
    }) = scan.cut
    {
        return Err(OverLimit::Header {
            max: limits.header_bytes,
        });
    }
    if scan.cut.is_none() && scan.long_lines.is_empty() {
        let count = markers(raw);
        if count > MAX_MARKERS {
            return Err(OverLimit::Markers { count });
        }
        return Ok(Fitted {
            bytes: Cow::Borrowed(raw),
            cuts: Vec::new(),
        });
    }
    let mut cuts = Vec::new();
    let end = scan.cut.as_ref().map_or(raw.len(), |c| c.at);
    let long: Vec<_> = scan.long_lines.iter().filter(|(s, _)| *s < end).collect();
    let mut out = Vec::with_capacity(end + 256);
    let mut pos = 0;
    for &&(start, stop) in &long {
        out.extend_from_slice(&raw[pos..start]);
        out.extend_from_slice(shorten(&raw[start..stop], limits.line_bytes));
        pos = stop;
    }
    out.extend_from_slice(&raw[pos..end]);
    if !long.is_empty() {
        cuts.push(format!(
            "{} header line(s) longer than {} bytes (intake.max_line_bytes) were shortened",
            long.len(),
            limits.line_bytes
        ));
    }
    if let Some(cut) = scan.cut {
        for boundary in cut.open.iter().rev() {
            out.extend_from_slice(b"\r\n--");
            out.extend_from_slice(boundary);
            out.extend_from_slice(b"--\r\n");
        }
        cuts.push(format!(
            "{}; the rest (from byte {} of {}) was not read",
            cut.reason.describe(limits),
            cut.at,
            raw.len()
        ));
    }
    let count = markers(&out);
    if count > MAX_MARKERS {
        return Err(OverLimit::Markers { count });
    }
    Ok(Fitted {
        bytes: Cow::Owned(out),
        cuts,
    })
}

/// The bytes the parser may read, for code that re-reads a stored message
/// (whose limits were already applied at intake): `None` when it is over a
/// limit that quarantines.
pub fn view<'a>(raw: &'a [u8], limits: &Limits) -> Option<Cow<'a, [u8]>> {
    fit(raw, limits).ok().map(|f| f.bytes)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    TopHeader,
    PartHeader,
    Depth,
    Parts,
}

impl Reason {
    fn describe(self, l: &Limits) -> String {
        match self {
            Reason::TopHeader | Reason::PartHeader => format!(
                "a MIME part's header section is over {} bytes (intake.max_header_bytes)",
                l.header_bytes
            ),
            Reason::Depth => format!(
                "MIME parts are nested deeper than {} levels (intake.max_mime_depth)",
                l.depth
            ),
            Reason::Parts => format!(
                "the message has more than {} MIME parts (intake.max_mime_parts)",
                l.parts
            ),
        }
    }
}

/// Where the top-level bytes are cut, and the boundaries open there (so the
/// copy can close them and still be well-formed).
#[derive(Debug)]
struct Cut {
    at: usize,
    reason: Reason,
    open: Vec<Vec<u8>>,
}

struct Scan<'l> {
    limits: &'l Limits,
    parser: MessageParser,
    parts: usize,
    /// Top-level header lines over the line limit: (start, end before EOL).
    long_lines: Vec<(usize, usize)>,
    cut: Option<Cut>,
}

/// What a header section says about the body that follows, read with
/// mail-parser's own header parser so that both agree on the structure.
enum Body {
    Multipart { boundary: Vec<u8>, digest: bool },
    Message,
    EncodedMessage { base64: bool },
    Leaf,
}

/// The same judgement as mail-parser's `mime_type` and its encoding match.
// `GetHeader` is implemented for `Vec<Header>`, not for slices.
#[allow(clippy::ptr_arg)]
fn body_kind(headers: &Vec<Header<'_>>, in_digest: bool) -> Body {
    let encoding = match headers.header_value(&HeaderName::ContentTransferEncoding) {
        Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("base64") => Some(true),
        Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("quoted-printable") => Some(false),
        _ => None,
    };
    let message = || match encoding {
        Some(base64) => Body::EncodedMessage { base64 },
        None => Body::Message,
    };
    let Some(ct) = headers
        .header_value(&HeaderName::ContentType)
        .and_then(|c| c.as_content_type())
    else {
        return if in_digest { message() } else { Body::Leaf };
    };
    match ct.ctype() {
        "multipart" => match ct.attribute("boundary") {
            Some(b) if !b.is_empty() => Body::Multipart {
                boundary: b.as_bytes().to_vec(),
                digest: ct.subtype() == Some("digest"),
            },
            _ => Body::Leaf,
        },
        "message" if matches!(ct.subtype(), Some("rfc822") | Some("global")) => message(),
        _ => Body::Leaf,
    }
}

impl Scan<'_> {
    /// Walks one (possibly decoded) message the way mail-parser does: a
    /// delimiter is `--boundary` of the innermost open multipart anywhere in
    /// the bytes, not only at a line start. `depth` is the level the message
    /// sits below; `level` counts encoded layers. Cuts are recorded only for
    /// the outermost bytes (`level == 0`); a finding inside an encoded part
    /// cuts that whole part.
    fn entity(&mut self, raw: &[u8], depth: usize, level: usize) -> Option<Reason> {
        // ("--" + boundary, depth of the multipart entity, is a digest)
        let mut open: Vec<(Vec<u8>, usize, bool)> = Vec::new();
        let mut p = 0;
        let mut entity_start = 0;
        let mut entity_depth = depth + 1;
        if let Some(r) = self.begin(entity_depth, level, 0, &open) {
            return Some(r);
        }
        loop {
            let in_digest = open.last().is_some_and(|o| o.2);
            let Some((kind, body)) = self.head(raw, p, level, in_digest) else {
                let reason = if entity_depth == 1 && level == 0 {
                    Reason::TopHeader
                } else {
                    Reason::PartHeader
                };
                return self.stop(reason, entity_start, level, &open);
            };
            p = body;
            match kind {
                Body::Multipart { boundary, digest } => {
                    let mut delimiter = b"--".to_vec();
                    delimiter.extend_from_slice(&boundary);
                    // With no first delimiter the parser reads the part as
                    // text and goes on with the enclosing multipart.
                    if memchr::memmem::find(&raw[body..], &delimiter).is_some() {
                        open.push((delimiter, entity_depth, digest));
                    }
                }
                Body::Message => {
                    entity_depth += 1;
                    entity_start = body;
                    if let Some(r) = self.begin(entity_depth, level, body, &open) {
                        return Some(r);
                    }
                    continue;
                }
                Body::EncodedMessage { base64 } => {
                    let boundary = open.last().map_or(&b""[..], |(d, _, _)| &d[2..]);
                    let found = self.encoded(&raw[body..], boundary, base64, entity_depth, level);
                    if let Some(r) = found {
                        return self.stop(r, entity_start, level, &open);
                    }
                }
                Body::Leaf => {}
            }
            // On to the next delimiter of the innermost open multipart.
            loop {
                let (delimiter, parent_depth, _) = open.last()?;
                let at = p + memchr::memmem::find(&raw[p..], delimiter)?;
                let after = at + delimiter.len();
                if raw[after..].starts_with(b"--") {
                    open.pop();
                    p = after + 2;
                    continue;
                }
                entity_depth = parent_depth + 1;
                entity_start = at;
                p = skip_line_end(raw, after);
                if let Some(r) = self.begin(entity_depth, level, at, &open) {
                    return Some(r);
                }
                break;
            }
        }
    }

    /// Reads the header section starting at `p`: what it says and where the
    /// body starts, or `None` when the section is over the size limit.
    fn head(
        &mut self,
        raw: &[u8],
        p: usize,
        level: usize,
        in_digest: bool,
    ) -> Option<(Body, usize)> {
        // A cheap bound first, so mail-parser never reads a huge section:
        // up to the first line that is empty or only whitespace.
        let mut pos = p;
        loop {
            if pos - p > self.limits.header_bytes {
                return None;
            }
            let Some(nl) = memchr::memchr(b'\n', &raw[pos..]) else {
                if raw.len() - p > self.limits.header_bytes {
                    return None;
                }
                break;
            };
            let line = &raw[pos..pos + nl];
            pos += nl + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                break;
            }
        }
        let mut stream = MessageStream::new(&raw[p..]);
        let mut headers = Vec::new();
        let body = if stream.parse_headers(&self.parser, &mut headers) {
            p + stream.offset()
        } else {
            raw.len()
        };
        if body - p > self.limits.header_bytes {
            return None;
        }
        if level == 0 {
            // Long lines are shortened, except in the two fields the MIME
            // structure lives in: changing those would change what the
            // parser follows from what was measured here.
            let structural: Vec<(usize, usize)> = headers
                .iter()
                .filter(|h| {
                    matches!(
                        h.name,
                        HeaderName::ContentType | HeaderName::ContentTransferEncoding
                    )
                })
                .map(|h| (p + h.offset_field as usize, p + h.offset_end as usize))
                .collect();
            let mut pos = p;
            while pos < body {
                let end = memchr::memchr(b'\n', &raw[pos..body]).map_or(body, |i| pos + i);
                let mut stop = end;
                while stop > pos && raw[stop - 1] == b'\r' {
                    stop -= 1;
                }
                if stop - pos > self.limits.line_bytes
                    && !structural.iter().any(|(s, e)| pos < *e && end >= *s)
                {
                    self.long_lines.push((pos, stop));
                }
                pos = end + 1;
            }
        }
        Some((body_kind(&headers, in_digest), body))
    }

    /// Counts a new entity at `depth`; a limit it breaks cuts at `at`.
    fn begin(
        &mut self,
        depth: usize,
        level: usize,
        at: usize,
        open: &[(Vec<u8>, usize, bool)],
    ) -> Option<Reason> {
        self.parts += 1;
        if depth > self.limits.depth {
            self.stop(Reason::Depth, at, level, open)
        } else if self.parts > self.limits.parts {
            self.stop(Reason::Parts, at, level, open)
        } else {
            None
        }
    }

    fn stop(
        &mut self,
        reason: Reason,
        at: usize,
        level: usize,
        open: &[(Vec<u8>, usize, bool)],
    ) -> Option<Reason> {
        if level == 0 {
            self.cut = Some(Cut {
                at,
                reason,
                open: open.iter().map(|(d, _, _)| d[2..].to_vec()).collect(),
            });
        }
        Some(reason)
    }

    /// Scans an encoded message/rfc822 body as the parser will see it:
    /// decoded by the parser's own decoder, up to the enclosing boundary.
    fn encoded(
        &mut self,
        body: &[u8],
        boundary: &[u8],
        base64: bool,
        depth: usize,
        level: usize,
    ) -> Option<Reason> {
        if level + 1 > MAX_ENCODED_LEVELS {
            return None;
        }
        let decoded = {
            let mut stream = MessageStream::new(body);
            let (end, bytes) = if base64 {
                stream.decode_base64_mime(boundary)
            } else {
                stream.decode_quoted_printable_mime(boundary)
            };
            if end == usize::MAX {
                // The parser keeps undecodable parts as text: nothing nests.
                return None;
            }
            bytes.into_owned()
        };
        self.entity(&decoded, depth, level + 1)
    }
}

/// Where a part's headers start after its delimiter: past the line end,
/// or right after the delimiter when text follows it on the same line (as
/// the parser reads it).
fn skip_line_end(raw: &[u8], mut p: usize) -> usize {
    while let Some(b) = raw.get(p) {
        match b {
            b'\n' => return p + 1,
            b' ' | b'\t' | b'\r' => p += 1,
            _ => return p,
        }
    }
    p
}

/// Counts `message/` and `/digest` (any case): a safety net under the
/// structural scan in case the parser reads a structure differently.
fn markers(raw: &[u8]) -> usize {
    memchr::memchr_iter(b'/', raw)
        .filter(|&i| {
            (i >= 7 && raw[i - 7..i].eq_ignore_ascii_case(b"message"))
                || raw
                    .get(i + 1..i + 7)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"digest"))
        })
        .count()
}

/// A header line cut to `max` bytes, at the last comma or space of its
/// second half when there is one, so a list keeps whole items.
fn shorten(line: &[u8], max: usize) -> &[u8] {
    let head = &line[..line.len().min(max)];
    let at = |sep: u8| {
        head.iter()
            .rposition(|b| *b == sep)
            .filter(|i| *i >= max / 2)
    };
    match at(b',').or_else(|| at(b' ')) {
        Some(i) => &head[..i],
        None => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            message_bytes: 100_000,
            header_bytes: 2_000,
            line_bytes: 200,
            depth: 5,
            parts: 10,
            recipients: 3,
        }
    }

    fn nested(levels: usize) -> Vec<u8> {
        let mut s = String::from("From: a@b.test\r\nSubject: deep\r\n");
        for i in 0..levels {
            s.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
        }
        s.push_str("Content-Type: text/plain\r\n\r\nhello\r\n");
        for i in (0..levels).rev() {
            s.push_str(&format!("--b{i}--\r\n"));
        }
        s.into_bytes()
    }

    #[test]
    fn ordinary_mail_is_borrowed_untouched() {
        let raw = nested(3);
        let f = fit(&raw, &small()).unwrap();
        assert!(matches!(f.bytes, Cow::Borrowed(_)));
        assert!(f.cuts.is_empty());
    }

    #[test]
    fn too_large_and_huge_top_header_are_quarantined() {
        let raw = vec![b'a'; 100_001];
        assert!(matches!(
            fit(&raw, &small()),
            Err(OverLimit::Message { .. })
        ));
        let mut raw = b"From: a@b.test\r\n".to_vec();
        for i in 0..200 {
            raw.extend_from_slice(format!("X-Filler-{i}: some value\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\nbody");
        assert_eq!(fit(&raw, &small()), Err(OverLimit::Header { max: 2_000 }));
    }

    #[test]
    fn deep_multipart_is_cut_at_the_limit_and_closed() {
        let raw = nested(8);
        let f = fit(&raw, &small()).unwrap();
        assert_eq!(f.cuts.len(), 1, "{:?}", f.cuts);
        assert!(f.cuts[0].contains("max_mime_depth"), "{:?}", f.cuts);
        let text = String::from_utf8_lossy(&f.bytes);
        assert!(text.contains("--b3\r\n"));
        assert!(!text.contains("--b4\r\n"), "{text}");
        assert!(text.ends_with("--b0--\r\n"), "{text}");
        let parsed = mail_parser::MessageParser::default().parse(&f.bytes[..]);
        assert!(parsed.is_some());
    }

    #[test]
    fn deep_rfc822_nesting_is_cut() {
        let mut s = String::new();
        for i in 0..50 {
            s.push_str(&format!(
                "From: a{i}@b.test\r\nContent-Type: message/rfc822\r\n\r\n"
            ));
        }
        let f = fit(s.as_bytes(), &small()).unwrap();
        assert!(f.cuts[0].contains("max_mime_depth"), "{:?}", f.cuts);
        assert!(f.bytes.len() < s.len() / 5);
    }

    #[test]
    fn nesting_hidden_in_base64_is_found() {
        let mut inner = String::new();
        for i in 0..20 {
            inner.push_str(&format!(
                "From: a{i}@b.test\r\nContent-Type: message/rfc822\r\n\r\n"
            ));
        }
        let b64 = encode_b64(inner.as_bytes());
        let raw = format!(
            "From: x@y.test\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhi\r\n--zz\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--zz--\r\n"
        );
        let f = fit(raw.as_bytes(), &small()).unwrap();
        assert!(f.cuts[0].contains("max_mime_depth"), "{:?}", f.cuts);
        let text = String::from_utf8_lossy(&f.bytes);
        assert!(
            text.contains("hi\r\n") && !text.contains("base64"),
            "{text}"
        );
    }

    #[test]
    fn boundaries_are_read_as_the_parser_reads_them() {
        // RFC 2231 continuations and mid-line delimiters: the parser
        // follows both, so the scan must too.
        let mut s = String::from("From: a@b.test\r\n");
        for i in 0..20 {
            s.push_str(&format!(
                "Content-Type: multipart/mixed; boundary*0=\"p{i}\"; boundary*1=\"q\"\r\n\r\nx--p{i}qContent-Type: message/rfc822\r\n\r\nFrom: n@x.test\r\n"
            ));
        }
        let f = fit(s.as_bytes(), &small()).unwrap();
        assert!(
            f.cuts.first().is_some_and(|c| c.contains("max_mime_depth")),
            "{:?}",
            f.cuts
        );
    }

    #[test]
    fn a_multipart_without_delimiters_does_not_hide_what_follows() {
        let mut s = String::from(
            "From: a@b.test\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/mixed; boundary=never\r\n\r\ntext\r\n--o\r\n",
        );
        for i in 0..20 {
            s.push_str(&format!(
                "From: n{i}@x.test\r\nContent-Type: message/rfc822\r\n\r\n"
            ));
        }
        let f = fit(s.as_bytes(), &small()).unwrap();
        assert!(
            f.cuts.first().is_some_and(|c| c.contains("max_mime_depth")),
            "{:?}",
            f.cuts
        );
    }

    #[test]
    fn too_many_parts_are_cut() {
        let mut s =
            String::from("From: a@b.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n");
        for i in 0..30 {
            s.push_str(&format!(
                "--x\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
            ));
        }
        s.push_str("--x--\r\n");
        let f = fit(s.as_bytes(), &small()).unwrap();
        assert!(f.cuts[0].contains("max_mime_parts"), "{:?}", f.cuts);
        let m = mail_parser::MessageParser::default()
            .parse(&f.bytes[..])
            .unwrap();
        assert_eq!(m.parts.len(), 10);
    }

    #[test]
    fn long_header_lines_are_shortened_at_a_comma() {
        let to: Vec<String> = (0..100).map(|i| format!("u{i}@x.test")).collect();
        let raw = format!("From: a@b.test\r\nTo: {}\r\n\r\nbody\r\n", to.join(", "));
        let f = fit(raw.as_bytes(), &small()).unwrap();
        assert!(f.cuts[0].contains("max_line_bytes"), "{:?}", f.cuts);
        let text = String::from_utf8_lossy(&f.bytes);
        let line = text.lines().nth(1).unwrap();
        assert!(line.len() <= 200 && line.ends_with(".test"), "{line}");
        assert!(text.ends_with("\r\n\r\nbody\r\n"));
    }

    #[test]
    fn oversized_part_header_cuts_that_part() {
        let filler = "X-F: ".to_string() + &"y".repeat(150) + "\r\n";
        let raw = format!(
            "From: a@b.test\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nfirst\r\n--q\r\n{}\r\nsecond\r\n--q--\r\n",
            filler.repeat(20)
        );
        let f = fit(raw.as_bytes(), &small()).unwrap();
        assert!(f.cuts[0].contains("max_header_bytes"), "{:?}", f.cuts);
        let text = String::from_utf8_lossy(&f.bytes);
        assert!(text.contains("first") && !text.contains("second"));
    }

    #[test]
    fn nothing_panics_on_odd_bytes() {
        for raw in [
            &b""[..],
            b"\r\n",
            b"--",
            b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
            b"Content-Type: multipart/mixed; boundary=\"\r\n\r\n",
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n====",
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=4",
        ] {
            let _ = fit(raw, &Limits::default());
        }
    }

    fn encode_b64(data: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n = chunk.len();
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= n {
                    out.push(A[((v >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
