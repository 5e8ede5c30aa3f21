//! Quote and signature stripping: only what the author of a reply wrote.
//!
//! Agents answer from their own mail client and only their words may reach
//! the customer; customers answer notifications and agents want their new
//! text, not the thread again. Every client marks the material it quotes
//! differently (`>` prefixes, attribution lines in a dozen languages, Outlook
//! header blocks, HTML `<blockquote>`s, mobile footers, `-- ` signatures), so
//! this module recognises those marks line by line and keeps the rest. Every
//! removal is recorded as a [`Cut`] with its lines and the rule that matched,
//! so `postdesk strip --explain` can show an admin why text went missing.
//!
//! Decisions on the ambiguous cases, in the order a reader meets them:
//!
//! - **Inline answers** (text between quoted parts) are kept. Above each
//!   one, the last quoted paragraph (at most [`CONTEXT_LINES`] lines, with
//!   their `>`) stays as context, because "Yes." means nothing to a customer
//!   without the question it answers; a quoted sign-off ("> Thanks, Carol")
//!   or quoted signature is never context. A reply that quotes everything
//!   first and answers once at the end (bottom-posting) keeps no context:
//!   the quote is the whole previous message.
//! - **A short `>` block without an attribution line** (at most
//!   [`OWN_QUOTE_LINES`] lines), the first quote in the message and
//!   followed by more text, is kept as it was written. Clients always put
//!   an attribution line above what *they* quote, so such a block is either
//!   the author's own text ("> 5 users affected") or a snippet the author
//!   picked on purpose; both belong.
//! - **Attribution followed by unquoted text**: a recognised attribution line
//!   ("On … wrote:") that is not followed by `>` lines means the client quoted
//!   without prefixes (Yahoo's plain text, HTML rendered to text), so
//!   everything below it goes.
//! - **Signatures**: `-- ` (RFC 3676) cuts up to the next quote or the end.
//!   `--` without the space (many clients trim it) cuts only when a short
//!   block follows (at most [`LOOSE_SIGNATURE_LINES`] lines) before the end
//!   or a quote, since `--` is also ordinary punctuation. In HTML the space
//!   never survives rendering, so there `--` alone on a line is a delimiter.
//!   Signatures without a delimiter ("Best regards, Bob, +49 …") are kept:
//!   they cannot be told from text, and a name too many hurts less than a
//!   lost sentence.
//! - **Forwarded messages** ("---------- Forwarded message ---------", "Begin
//!   forwarded message:") are kept whole from the marker on: the forward is
//!   the content. An Outlook forward looks exactly like an Outlook reply
//!   (the same `From:`/`Sent:` block), so it is cut like one.
//! - **Nothing left**: when only a mobile footer or a signature remains the
//!   author's, that is kept ("Sent from my iPhone" is better than an empty
//!   message); when everything looks quoted the whole text is kept and the
//!   cuts say so ([`Reason::KeptWhole`]), so a message is never lost.
//!
//! Work is linear and bounded: at most [`MAX_INPUT`] bytes and [`MAX_LINES`]
//! lines are examined, patterns look at most at the first kilobyte of a
//! line, and regular expressions only run on short lines that end in a colon
//! (attributions) or on short lines (footers).

use std::fmt;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};

use crate::mail::Inbound;

/// Bytes of text or HTML examined; the rest is cut as [`Reason::TooLong`].
pub const MAX_INPUT: usize = 4 * 1024 * 1024;
/// Lines examined; the rest is cut as [`Reason::TooLong`].
pub const MAX_LINES: usize = 200_000;
/// Bytes of a line the patterns look at: no quote mark is longer.
const MAX_PROBE: usize = 1024;
/// Longest attribution line (joined when wrapped) that is recognised.
const MAX_ATTRIBUTION: usize = 600;
/// Clients wrap attribution lines over at most this many lines.
const MAX_ATTRIBUTION_LINES: usize = 3;
/// Quoted lines kept as context above an inline answer.
pub const CONTEXT_LINES: usize = 3;
/// An unattributed `>` block this short, followed by text, is kept.
pub const OWN_QUOTE_LINES: usize = 3;
/// Non-blank lines after a bare `--` that still make it a signature.
pub const LOOSE_SIGNATURE_LINES: usize = 6;
/// Lines after `From:` searched for the rest of an Outlook header block.
const HEADER_LOOKAHEAD: usize = 8;
/// Nested blockquotes beyond this depth get no more `>` in the rendering.
const MAX_DEPTH: usize = 16;
/// Characters of a cut's first line kept for display.
const EXCERPT: usize = 100;

/// What the author wrote, and what was removed on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stripped {
    /// The author's text: trailing whitespace removed from every line, runs
    /// of blank lines left by a cut collapsed, the whole trimmed.
    pub text: String,
    /// What was removed and why, in line order. Also holds the notes
    /// [`Reason::KeptFooter`] and [`Reason::KeptWhole`] when a fallback kept
    /// text that would otherwise have been cut (see [`Cut::is_cut`]).
    pub cuts: Vec<Cut>,
}

impl Stripped {
    /// True when everything looked quoted and the whole text was kept: a
    /// relay may want to ask before sending the customer their own words.
    pub fn kept_whole(&self) -> bool {
        self.cuts.iter().any(|c| c.reason == Reason::KeptWhole)
    }
}

/// One removed range of lines (1-based, inclusive, of the text that was
/// stripped: the plain text, or the HTML rendered as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub first_line: usize,
    pub last_line: usize,
    pub reason: Reason,
    /// The first non-blank line of the range, shortened, for display.
    pub excerpt: String,
}

impl Cut {
    /// False for the notes that record text kept by a fallback.
    pub fn is_cut(&self) -> bool {
        !matches!(self.reason, Reason::KeptFooter | Reason::KeptWhole)
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.is_cut() { "cut" } else { "kept" };
        if self.first_line == self.last_line {
            write!(f, "{verb} line {}: {}", self.first_line, self.reason)
        } else {
            write!(
                f,
                "{verb} lines {}-{}: {}",
                self.first_line, self.last_line, self.reason
            )
        }
    }
}

/// Why lines were cut (or, for the two `Kept` notes, kept).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// "On … wrote:" and its translations; `client` is a best guess.
    Attribution {
        client: &'static str,
        pattern: &'static str,
    },
    /// `>` lines (or an HTML blockquote rendered as such).
    Quoted { html: bool },
    /// Quoted lines above an inline answer; the last of them are kept.
    QuotedAboveAnswer { html: bool },
    /// Everything under an attribution line that was not quoted with `>`.
    BelowAttribution,
    /// Outlook's `From:`/`Sent:`/`To:`/`Subject:` block and all below it.
    HeaderBlock {
        language: &'static str,
        pattern: &'static str,
    },
    /// `-----Original Message-----` (or a translation) and all below it.
    OriginalMessage,
    /// `-- ` and what follows, up to the next quote.
    Signature,
    /// `--` followed by a short block.
    LooseSignature,
    /// "Sent from my iPhone", "Get Outlook for iOS", …
    MobileFooter,
    /// An HTML element that only clients' quoting produces, and all after it.
    HtmlMarker {
        marker: &'static str,
        client: &'static str,
    },
    /// Beyond [`MAX_INPUT`] bytes or [`MAX_LINES`] lines: not examined.
    TooLong,
    /// Nothing but a footer or signature was left, so it was kept.
    KeptFooter,
    /// Everything looked quoted, so nothing was cut.
    KeptWhole,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Attribution { client, pattern } => {
                write!(f, "attribution line ({client}: '{pattern}')")
            }
            Reason::Quoted { html: false } => f.write_str("quoted text ('>' lines)"),
            Reason::Quoted { html: true } => f.write_str("quoted text (HTML <blockquote>)"),
            Reason::QuotedAboveAnswer { html } => write!(
                f,
                "quoted text above an inline answer ({}); the quoted lines just above the answer stay as context",
                if *html { "HTML <blockquote>" } else { "'>' lines" },
            ),
            Reason::BelowAttribution => {
                f.write_str("the quoted message below an attribution line (quoted without '>')")
            }
            Reason::HeaderBlock { language, pattern } => write!(
                f,
                "Outlook header block ({language}: '{pattern}') and the quoted message below it"
            ),
            Reason::OriginalMessage => f.write_str(
                "'-----Original Message-----' separator and the quoted message below it",
            ),
            Reason::Signature => f.write_str("signature ('-- ' delimiter, RFC 3676)"),
            Reason::LooseSignature => {
                f.write_str("signature ('--' delimiter followed by a short block)")
            }
            Reason::MobileFooter => f.write_str("mobile client footer ('Sent from my …')"),
            Reason::HtmlMarker { marker, client } => write!(
                f,
                "HTML quote marker '{marker}' ({client}) and everything after it"
            ),
            Reason::TooLong => write!(
                f,
                "beyond the first {MAX_LINES} lines or {} MiB: not examined",
                MAX_INPUT / (1024 * 1024)
            ),
            Reason::KeptFooter => f.write_str(
                "nothing else was written, so the footer/signature is kept rather than an empty message",
            ),
            Reason::KeptWhole => f.write_str(
                "everything looked quoted, so nothing was cut rather than losing the message",
            ),
        }
    }
}

/// What [`strip_raw`] found in its input and stripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A whole message; its plain text was stripped.
    Text,
    /// A whole HTML-only message; its HTML part was rendered and stripped.
    Html,
    /// No header section: the input itself was stripped as a body.
    Body,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Text => "message, plain text",
            Source::Html => "HTML-only message, HTML part rendered as text",
            Source::Body => "bare body (no header section)",
        })
    }
}

/// Strips a reply given as plain text.
pub fn strip_reply(text: &str) -> Stripped {
    strip_text(text, Kind::Reply)
}

/// Whether a mail answers (quoted history is cut) or forwards (the
/// forwarded mail below the author's text is what they are sending, and
/// stays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reply,
    Forward,
}

fn strip_text(text: &str, kind: Kind) -> Stripped {
    let clipped = clip(text, MAX_INPUT);
    let mut lines: Vec<&str> = Vec::new();
    let mut rest = None;
    for (n, line) in clipped.split('\n').enumerate() {
        if n == MAX_LINES {
            rest = Some(n);
            break;
        }
        lines.push(line.strip_suffix('\r').unwrap_or(line));
    }
    let tail = if rest.is_some() || clipped.len() < text.len() {
        // Counting the newlines of what is left is linear and tells the
        // admin how much was not looked at.
        let skipped = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
        Some(Cut {
            first_line: lines.len() + 1,
            last_line: skipped.max(lines.len() + 1),
            reason: Reason::TooLong,
            excerpt: String::new(),
        })
    } else {
        None
    };
    strip_lines(&lines, lines.len(), false, tail, kind)
}

/// Strips a reply given as HTML: rendered to text with `>` for every
/// blockquote level (so inline answers between blockquotes survive), cut at
/// the markers only quoting clients produce (Outlook's `divRplyFwdMsg` and
/// `appendonsend`, Yahoo's `yahoo_quoted`, …), then stripped like text. Line
/// numbers in the cuts are those of [`render_html`]'s output.
pub fn strip_reply_html(html: &str) -> Stripped {
    strip_html(html, Kind::Reply)
}

fn strip_html(html: &str, kind: Kind) -> Stripped {
    let rendered = render(html);
    let lines: Vec<&str> = rendered.text.split('\n').collect();
    let (limit, tail) = match rendered.marker {
        // Outlook marks what it forwards as it marks what it quotes.
        Some((line, marker, client)) if line < lines.len() && kind == Kind::Reply => (
            line,
            Some(Cut {
                first_line: line + 1,
                last_line: lines.len(),
                reason: Reason::HtmlMarker { marker, client },
                excerpt: excerpt(lines.get(line).copied().unwrap_or_default()),
            }),
        ),
        _ if rendered.truncated => (
            lines.len(),
            Some(Cut {
                first_line: lines.len() + 1,
                last_line: lines.len() + 1,
                reason: Reason::TooLong,
                excerpt: String::new(),
            }),
        ),
        _ => (lines.len(), None),
    };
    strip_lines(&lines, limit, true, tail, kind)
}

/// Strips a parsed message: its HTML part when it has no plain text (the
/// text mail-parser derives from HTML loses every line break between
/// `<div>`s, and with them the attribution lines), else its text. A
/// forward (by its subject, see [`super::subject::is_forward`]) keeps the
/// mail it forwards.
pub fn strip_message(msg: &Inbound, raw: &[u8]) -> (Stripped, Source) {
    let kind = if super::subject::is_forward(&msg.subject) {
        Kind::Forward
    } else {
        Kind::Reply
    };
    strip_message_as(msg, raw, kind)
}

/// [`strip_message`] as a reply or a forward whatever the subject says.
pub fn strip_message_as(msg: &Inbound, raw: &[u8], kind: Kind) -> (Stripped, Source) {
    if msg.html_only {
        let html = super::limits::view(raw, &super::Limits::default()).and_then(|bytes| {
            mail_parser::MessageParser::default()
                .parse(&bytes[..])
                .and_then(|m| m.body_html(0).map(|h| h.into_owned()))
        });
        if let Some(html) = html {
            return (strip_html(&html, kind), Source::Html);
        }
    }
    (strip_text(&msg.text, kind), Source::Text)
}

/// What `postdesk strip` does with its input: a whole message when it starts
/// with a header line and parses as mail, else a bare body.
pub fn strip_raw(raw: &[u8]) -> (Stripped, Source) {
    if starts_with_header(raw) {
        if let Ok(msg) = crate::mail::parse(raw) {
            return strip_message(&msg, raw);
        }
    }
    let text = String::from_utf8_lossy(&raw[..raw.len().min(MAX_INPUT)]);
    (strip_reply(&text), Source::Body)
}

/// `Name: value` on the first line (after an mbox `From ` line): a body
/// almost never starts that way, a message always does.
fn starts_with_header(raw: &[u8]) -> bool {
    let mut lines = raw.split(|&b| b == b'\n');
    let mut first = lines.next().unwrap_or_default();
    if first.starts_with(b"From ") {
        first = lines.next().unwrap_or_default();
    }
    let Some(colon) = first.iter().position(|&b| b == b':') else {
        return false;
    };
    colon > 0 && first[..colon].iter().all(|b| b.is_ascii_graphic())
}

// ---------------------------------------------------------------------------
// The line scanner.

/// A block of `>` lines, possibly under an attribution line.
struct Quote {
    /// First line of the block, the attribution's when there is one.
    start: usize,
    /// The attribution's lines (inclusive), which may be the block's own
    /// first quoted lines ("> On … wrote:", as iOS Mail writes it).
    attribution: Option<(usize, usize, &'static str, &'static str)>,
    first_quoted: usize,
    /// One past the last `>` line.
    end: usize,
}

/// The core: `lines[..limit]` are examined, `lines[limit..]` are cut by
/// `tail` (an HTML marker), and on fallback the whole of `lines` is kept.
fn strip_lines(
    lines: &[&str],
    limit: usize,
    html: bool,
    tail: Option<Cut>,
    kind: Kind,
) -> Stripped {
    let n = limit.min(lines.len());
    let mut keep = vec![false; n];
    let mut cuts = Vec::new();
    let mut quotes: Vec<Quote> = Vec::new();
    // Whether a line starts quoted material, once computed: signature
    // checks look ahead, and without this a run of `--` lines would look
    // at each line a dozen times.
    let mut structure: Vec<Option<bool>> = vec![None; n];
    let mut i = 0;
    while i < n {
        let line = lines[i];
        if is_quoted(line) {
            let end = quote_end(lines, i, n);
            quotes.push(Quote {
                start: i,
                attribution: quoted_attribution(lines, i, end),
                first_quoted: i,
                end,
            });
            i = end;
            continue;
        }
        if is_blank(line) {
            keep[i] = true;
            i += 1;
            continue;
        }
        let p = probe(line);
        let forwarded = kind == Kind::Forward
            && (is_original_message(p) || header_block_at(lines, i, n).is_some());
        if forwarded || is_forward_marker(p) {
            keep[i..].fill(true);
            break;
        }
        if is_original_message(p) {
            cuts.push(cut(lines, i, n - 1, Reason::OriginalMessage));
            break;
        }
        if let Some((language, pattern)) = header_block_at(lines, i, n) {
            cuts.push(cut(
                lines,
                i,
                n - 1,
                Reason::HeaderBlock { language, pattern },
            ));
            break;
        }
        if let Some(a) = attribution(&lines[i..(i + MAX_ATTRIBUTION_LINES).min(n)]) {
            let last = i + a.lines - 1;
            let next = (last + 1..n).find(|&j| !is_blank(lines[j]));
            match next {
                Some(k) if is_quoted(lines[k]) => {
                    let end = quote_end(lines, k, n);
                    quotes.push(Quote {
                        start: i,
                        attribution: Some((i, last, a.client, a.pattern)),
                        first_quoted: k,
                        end,
                    });
                    i = end;
                    continue;
                }
                _ if a.strong => {
                    cuts.push(cut(
                        lines,
                        i,
                        last,
                        Reason::Attribution {
                            client: a.client,
                            pattern: a.pattern,
                        },
                    ));
                    if last + 1 < n {
                        cuts.push(cut(lines, last + 1, n - 1, Reason::BelowAttribution));
                    }
                    break;
                }
                // A weak match ("Carol wrote:") with no quote under it is text.
                _ => {}
            }
        }
        if let Some(strict) = signature_delimiter(line, html) {
            if let Some(end) = signature_end(lines, i, n, strict, &mut structure) {
                let reason = if strict {
                    Reason::Signature
                } else {
                    Reason::LooseSignature
                };
                cuts.push(cut(lines, i, end - 1, reason));
                i = end;
                continue;
            }
        }
        if is_mobile_footer(p) {
            cuts.push(cut(lines, i, i, Reason::MobileFooter));
            i += 1;
            continue;
        }
        keep[i] = true;
        i += 1;
    }

    decide_quotes(lines, &quotes, &mut keep, &mut cuts, html);
    cuts.sort_by_key(|c| c.first_line);
    let mut text = assemble(lines, &keep);

    if text.is_empty() && lines[..n].iter().any(|l| !is_blank(l)) {
        // Nothing of the author's survived: put back footers and
        // signatures, or failing that keep everything.
        for c in cuts.iter_mut().filter(|c| {
            matches!(
                c.reason,
                Reason::MobileFooter | Reason::Signature | Reason::LooseSignature
            )
        }) {
            if let Some(range) = keep.get_mut(c.first_line - 1..c.last_line) {
                range.fill(true);
            }
            c.reason = Reason::KeptFooter;
        }
        text = assemble(lines, &keep);
        if text.is_empty() {
            let all = vec![true; lines.len()];
            let mut kept = vec![cut(
                lines,
                0,
                lines.len().saturating_sub(1),
                Reason::KeptWhole,
            )];
            kept.extend(tail.filter(|t| t.first_line > lines.len()));
            return Stripped {
                text: assemble(lines, &all),
                cuts: kept,
            };
        }
    }
    cuts.extend(tail);
    Stripped { text, cuts }
}

/// Decides each quote block: cut, kept as the author's, or cut down to the
/// context above an inline answer (see the module documentation).
fn decide_quotes(
    lines: &[&str],
    quotes: &[Quote],
    keep: &mut [bool],
    cuts: &mut Vec<Cut>,
    html: bool,
) {
    let text_line = |j: &usize| keep[*j] && !is_blank(lines[*j]);
    let first_text = (0..keep.len()).find(text_line);
    let last_text = (0..keep.len()).rev().find(text_line);
    for (qi, q) in quotes.iter().enumerate() {
        let answer_after = last_text.is_some_and(|t| t >= q.end);
        let text_before = first_text.is_some_and(|t| t < q.start);
        let quoted_lines = (q.first_quoted..q.end)
            .filter(|&j| is_quoted(lines[j]))
            .count();
        if qi == 0 && answer_after && q.attribution.is_none() && quoted_lines <= OWN_QUOTE_LINES {
            keep[q.start..q.end].fill(true);
            continue;
        }
        let quoted_from = match q.attribution {
            Some((a, b, client, pattern)) => {
                cuts.push(cut(lines, a, b, Reason::Attribution { client, pattern }));
                b + 1
            }
            None => q.start,
        };
        let inline = answer_after && (text_before || qi + 1 < quotes.len());
        if !inline {
            if quoted_from < q.end {
                cuts.push(cut(lines, quoted_from, q.end - 1, Reason::Quoted { html }));
            }
            continue;
        }
        // The last quoted paragraph above the answer stays as context;
        // above a quoted signature, if the quote ends with one.
        let floor = quoted_from.max(q.first_quoted);
        let mut stop = (floor..q.end)
            .rev()
            .take(2 * LOOSE_SIGNATURE_LINES)
            .find(|&j| unquote_all(lines[j]).trim_end() == "--")
            .unwrap_or(q.end);
        while stop > floor && quoted_blank(lines[stop - 1]) {
            stop -= 1;
        }
        let mut from = stop;
        while from > floor && stop - from < CONTEXT_LINES && !quoted_blank(lines[from - 1]) {
            from -= 1;
        }
        // A quoted sign-off ("> Thanks,\n> Carol") is no context for the
        // author's own sign-off below it.
        if from < stop && is_closing(unquote_all(lines[from])) {
            from = stop;
        }
        if from == stop {
            if quoted_from < q.end {
                cuts.push(cut(lines, quoted_from, q.end - 1, Reason::Quoted { html }));
            }
            continue;
        }
        keep[from..stop].fill(true);
        if quoted_from < from {
            cuts.push(cut(
                lines,
                quoted_from,
                from - 1,
                Reason::QuotedAboveAnswer { html },
            ));
        }
        if stop < q.end {
            cuts.push(cut(lines, stop, q.end - 1, Reason::Quoted { html }));
        }
    }
}

/// Every level of quoting removed.
fn unquote_all(line: &str) -> &str {
    line.trim_start_matches(['>', ' '])
}

const CLOSING: &str = concat!(
    r"(?i)^(?:thanks|thank you|many thanks|thx|best|best regards|kind regards|regards|",
    r"warm regards|cheers|sincerely|yours|greetings|viele grüße|liebe grüße|beste grüße|",
    r"mit freundlichen grüßen|freundliche grüße|grüße|gruß|lg|vg|mfg|danke|cordialement|",
    r"bien cordialement|merci|bien à vous|salutations|saludos|un saludo|atentamente|gracias|",
    r"groeten|met vriendelijke groet|hartelijke groet|bedankt|cordiali saluti|saluti|grazie|",
    r"distinti saluti|atenciosamente|obrigad[oa]|abraços|cumprimentos|pozdrawiam|",
    r"z poważaniem|dziękuję)\b[\s\p{L},.!]{0,30}$"
);

/// "Thanks,", "Best regards", "Viele Grüße": the start of a sign-off.
fn is_closing(line: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let line = line.trim();
    line.len() <= 60 && regex(&RE, CLOSING).is_some_and(|re| re.is_match(line))
}

/// The kept lines as text: trailing whitespace dropped, a run of blank
/// lines that spans a cut collapsed to one, the whole trimmed.
fn assemble(lines: &[&str], keep: &[bool]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut last: Option<usize> = None;
    for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
        let line = lines[i].trim_end();
        if line.is_empty() {
            let gap = last.is_some_and(|l| l + 1 < i);
            if out.is_empty() || (gap && out.last().is_some_and(|l| l.is_empty())) {
                continue;
            }
        }
        out.push(line);
        last = Some(i);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

fn cut(lines: &[&str], first: usize, last: usize, reason: Reason) -> Cut {
    // Each line is in one cut, so looking for its first non-blank line
    // stays linear overall.
    let shown = lines
        .get(first..=last.min(lines.len().saturating_sub(1)))
        .unwrap_or_default()
        .iter()
        .find(|l| !is_blank(l))
        .copied()
        .unwrap_or_default();
    Cut {
        first_line: first + 1,
        last_line: last + 1,
        reason,
        excerpt: excerpt(shown),
    }
}

fn excerpt(line: &str) -> String {
    let line = clip(line, MAX_PROBE).trim_end();
    if line.chars().count() <= EXCERPT {
        line.to_string()
    } else {
        let mut s: String = line.chars().take(EXCERPT - 1).collect();
        s.push('…');
        s
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// The part of a line patterns look at.
fn probe(line: &str) -> &str {
    clip(line, MAX_PROBE).trim()
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_quoted(line: &str) -> bool {
    line.starts_with('>')
}

/// `>`, `> >`, `>   `: a quoted empty line.
fn quoted_blank(line: &str) -> bool {
    line.trim_start_matches(|c: char| c == '>' || c.is_whitespace())
        .is_empty()
}

/// One level of quoting removed.
fn unquote(line: &str) -> &str {
    let s = line.strip_prefix('>').unwrap_or(line);
    s.strip_prefix(' ').unwrap_or(s)
}

/// One past the last `>` line of the block starting at `start`; blank lines
/// between `>` lines belong to the block.
fn quote_end(lines: &[&str], start: usize, n: usize) -> usize {
    let mut end = start + 1;
    let mut j = start + 1;
    while j < n {
        if is_quoted(lines[j]) {
            end = j + 1;
        } else if !is_blank(lines[j]) {
            break;
        }
        j += 1;
    }
    end
}

/// An attribution quoted along with the message ("> On … wrote:"), as the
/// first line(s) of a `>` block.
fn quoted_attribution(
    lines: &[&str],
    start: usize,
    end: usize,
) -> Option<(usize, usize, &'static str, &'static str)> {
    let window: Vec<&str> = lines[start..end.min(start + MAX_ATTRIBUTION_LINES)]
        .iter()
        .take_while(|l| is_quoted(l))
        .map(|l| unquote(l))
        .collect();
    let a = attribution(&window)?;
    Some((start, start + a.lines - 1, a.client, a.pattern))
}

/// Where a signature starting at `start` ends (exclusive): the next quote,
/// attribution, header block or forward, or the end. `None` for a bare `--`
/// whose block is not short, which is then just text.
fn signature_end(
    lines: &[&str],
    start: usize,
    n: usize,
    strict: bool,
    structure: &mut [Option<bool>],
) -> Option<usize> {
    let mut nonblank = 0;
    for j in start + 1..n {
        let line = lines[j];
        let begins = match structure[j] {
            Some(known) => known,
            None => {
                let known = begins_structure(lines, j, n);
                structure[j] = Some(known);
                known
            }
        };
        if is_quoted(line) || begins {
            return Some(j);
        }
        if !is_blank(line) {
            nonblank += 1;
            if !strict && (nonblank > LOOSE_SIGNATURE_LINES || line.chars().count() > 100) {
                return None;
            }
        }
        if !strict && j - start > 2 * LOOSE_SIGNATURE_LINES {
            return None;
        }
    }
    (strict || nonblank > 0).then_some(n)
}

/// A line where quoted material (or a forward) starts.
fn begins_structure(lines: &[&str], j: usize, n: usize) -> bool {
    let p = probe(lines[j]);
    !p.is_empty()
        && (is_forward_marker(p)
            || is_original_message(p)
            || header_block_at(lines, j, n).is_some()
            || attribution(&lines[j..(j + MAX_ATTRIBUTION_LINES).min(n)]).is_some())
}

/// `Some(true)` for `-- ` (RFC 3676), `Some(false)` for a bare `--`, which
/// in HTML counts as `-- ` because rendering drops the space.
fn signature_delimiter(line: &str, html: bool) -> Option<bool> {
    if line.trim() != "--" {
        return None;
    }
    Some(html || line.starts_with("-- "))
}

// ---------------------------------------------------------------------------
// Attribution lines.

struct AttributionPattern {
    re: &'static str,
    language: &'static str,
    pattern: &'static str,
    /// Anchored on a lead word and a verb: trusted even without a `>` block
    /// below, when the line also has a digit (every date does).
    strong: bool,
}

const fn ap(
    re: &'static str,
    language: &'static str,
    pattern: &'static str,
    strong: bool,
) -> AttributionPattern {
    AttributionPattern {
        re,
        language,
        pattern,
        strong,
    }
}

/// In priority order: the first that matches names the line.
const ATTRIBUTIONS: &[AttributionPattern] = &[
    ap(r"^On\s.+\swrote\s*:$", "English", "On … wrote:", true),
    ap(r"^Am\s.+\sschrieb\b.*:$", "German", "Am … schrieb …:", true),
    ap(r"^.+\sschrieb\sam\s.+:$", "German", "… schrieb am …:", true),
    ap(r"^Le\s.+\sa\s+écrit\s*:$", "French", "Le … a écrit :", true),
    ap(
        r"^El\s.+\sescribi[óo]\s*:$",
        "Spanish",
        "El … escribió:",
        true,
    ),
    ap(r"^Op\s.+\sschreef\b.*:$", "Dutch", "Op … schreef …:", true),
    ap(
        r"^Op\s.+\shet\s+volgende\s+geschreven\s*:$",
        "Dutch",
        "Op … heeft … het volgende geschreven:",
        true,
    ),
    ap(
        r"^Il\s.+\sha\s+scritto\s*:$",
        "Italian",
        "Il giorno … ha scritto:",
        true,
    ),
    ap(
        r"^Em\s.+\sescreveu\s*:$",
        "Portuguese",
        "Em … escreveu:",
        true,
    ),
    ap(
        r"^W\s+dniu\s.+\s(?:pisze|napisał\(a\)|napisała?)\s*:$",
        "Polish",
        "W dniu … pisze:",
        true,
    ),
    ap(
        r"^Wiadomość\s+napisana\s+przez\s.+:$",
        "Polish",
        "Wiadomość napisana przez … w dniu …:",
        true,
    ),
    ap(
        r"^.+\snapisał(?:\(a\)|a)?\s*:$",
        "Polish",
        "… napisał(a):",
        true,
    ),
    ap(
        r"^De[nt]\s.+\sskrev\b.*:$",
        "Scandinavian",
        "Den … skrev …:",
        true,
    ),
    ap(
        r"^.+\s(?:пишет|написал\(а\)|написала?)\s*:$",
        "Russian",
        "… пишет:",
        true,
    ),
    ap(r"^.+(?:写道|寫道)\s*[:：]$", "Chinese", "… 写道：", true),
    ap(
        r"^.+のメッセージ\s*[:：]$",
        "Japanese",
        "…のメッセージ:",
        true,
    ),
    ap(
        r"^\d{4}年\d{1,2}月\d{1,2}日.+[:：]$",
        "Japanese",
        "…年…月…日 … <…>:",
        false,
    ),
    ap(r"^.+\swrote\s*:$", "English", "… wrote:", false),
    ap(r"^Quoting\s.+:$", "English", "Quoting …:", false),
    ap(
        r"^.+\s(?:schrieb|a\s+écrit|escribió|schreef|ha\s+scritto|escreveu|pisze|skrev)\s*:$",
        "localized",
        "… wrote:",
        false,
    ),
];

fn attribution_set() -> Option<&'static RegexSet> {
    static SET: OnceLock<Option<RegexSet>> = OnceLock::new();
    SET.get_or_init(|| RegexSet::new(ATTRIBUTIONS.iter().map(|p| p.re)).ok())
        .as_ref()
}

struct Attribution {
    /// How many lines it spans (wrapped attributions span more than one).
    lines: usize,
    strong: bool,
    client: &'static str,
    pattern: &'static str,
}

/// The attribution line that starts at `window[0]`, wrapped over up to
/// [`MAX_ATTRIBUTION_LINES`] lines.
fn attribution(window: &[&str]) -> Option<Attribution> {
    for span in 1..=window.len().min(MAX_ATTRIBUTION_LINES) {
        let line = probe(window[span - 1]);
        if line.is_empty() || (span > 1 && line.starts_with('>')) {
            return None;
        }
        // Only a line ending in a colon can end an attribution: join the
        // lines (an allocation) only then.
        if !ends_with_colon(line) {
            continue;
        }
        let joined = join(&window[..span])?;
        if let Some((strong, client, pattern)) = match_attribution(&joined) {
            // When a later line starts an attribution that ends here and is
            // as trustworthy, the earlier lines are the author's text above
            // it ("See below." + "Carol wrote:"). A weaker later match is
            // just the tail of this one ("c@x> wrote:" under "On … <").
            if (1..span)
                .any(|j| attribution_within(&window[j..span]).is_some_and(|later| later || !strong))
            {
                return None;
            }
            return Some(Attribution {
                lines: span,
                strong,
                client,
                pattern,
            });
        }
    }
    None
}

/// Whether some leading span of `window` is an attribution, and if so
/// whether it is a strong one.
fn attribution_within(window: &[&str]) -> Option<bool> {
    (1..=window.len())
        .filter(|&span| ends_with_colon(probe(window[span - 1])))
        .find_map(|span| match_attribution(&join(&window[..span])?))
        .map(|(strong, ..)| strong)
}

fn ends_with_colon(line: &str) -> bool {
    line.ends_with(':') || line.ends_with('：')
}

/// Wrapped lines joined with a space, unless too long to be an attribution.
fn join(lines: &[&str]) -> Option<String> {
    let mut joined = String::new();
    for line in lines {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(probe(line));
        if joined.len() > MAX_ATTRIBUTION {
            return None;
        }
    }
    Some(joined)
}

/// `(strong, client, pattern)` when `line` is an attribution line.
fn match_attribution(line: &str) -> Option<(bool, &'static str, &'static str)> {
    let line = line.trim();
    if line.len() > MAX_ATTRIBUTION || !ends_with_colon(line) {
        return None;
    }
    let dated = line.bytes().any(|b| b.is_ascii_digit());
    let set = attribution_set()?;
    let p = set.matches(line).into_iter().next()?;
    let p = ATTRIBUTIONS.get(p)?;
    let client = if p.language == "English" && p.strong {
        english_client(line)
    } else {
        p.language
    };
    Some((p.strong && dated, client, p.pattern))
}

/// A guess at the client from the shape of an English attribution; only
/// used to explain a cut.
fn english_client(line: &str) -> &'static str {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const LONG_DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let rest = line.strip_prefix("On ").unwrap_or(line);
    if line.contains(", at ") {
        "Apple Mail"
    } else if LONG_DAYS.iter().any(|d| rest.starts_with(d)) {
        "Yahoo Mail"
    } else if DAYS.iter().any(|d| rest.starts_with(&format!("{d}, "))) && line.contains(" at ") {
        "Gmail"
    } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
        "Thunderbird"
    } else {
        "mail client"
    }
}

// ---------------------------------------------------------------------------
// Outlook header blocks, separators, forwards, footers.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    Date,
    To,
    Subject,
}

/// Header names Outlook writes above the quoted message, by language. For
/// the date field, the language and the block's shape in that language.
const FIELDS: &[(&str, Field, &str, &str)] = &[
    ("from", Field::From, "English", ""),
    ("sent", Field::Date, "English", "From:/Sent:/To:/Subject:"),
    ("date", Field::Date, "English", "From:/Date:/To:/Subject:"),
    ("to", Field::To, "", ""),
    ("cc", Field::To, "", ""),
    ("bcc", Field::To, "", ""),
    ("subject", Field::Subject, "", ""),
    ("von", Field::From, "German", ""),
    (
        "gesendet",
        Field::Date,
        "German",
        "Von:/Gesendet:/An:/Betreff:",
    ),
    ("datum", Field::Date, "German", "Von:/Datum:/An:/Betreff:"),
    ("an", Field::To, "", ""),
    ("kopie", Field::To, "", ""),
    ("betreff", Field::Subject, "", ""),
    ("de", Field::From, "French/Spanish/Portuguese", ""),
    ("envoyé", Field::Date, "French", "De :/Envoyé :/À :/Objet :"),
    ("à", Field::To, "", ""),
    ("objet", Field::Subject, "", ""),
    (
        "enviado el",
        Field::Date,
        "Spanish",
        "De:/Enviado el:/Para:/Asunto:",
    ),
    (
        "enviado",
        Field::Date,
        "Spanish/Portuguese",
        "De:/Enviado:/Para:/Asunto:",
    ),
    ("fecha", Field::Date, "Spanish", "De:/Fecha:/Para:/Asunto:"),
    ("para", Field::To, "", ""),
    ("asunto", Field::Subject, "", ""),
    ("da", Field::From, "Italian", ""),
    (
        "inviato",
        Field::Date,
        "Italian",
        "Da:/Inviato:/A:/Oggetto:",
    ),
    ("a", Field::To, "", ""),
    ("oggetto", Field::Subject, "", ""),
    (
        "data",
        Field::Date,
        "Italian/Portuguese/Polish",
        "…/Data:/…",
    ),
    ("van", Field::From, "Dutch", ""),
    (
        "verzonden",
        Field::Date,
        "Dutch",
        "Van:/Verzonden:/Aan:/Onderwerp:",
    ),
    ("aan", Field::To, "", ""),
    ("onderwerp", Field::Subject, "", ""),
    (
        "enviada em",
        Field::Date,
        "Portuguese",
        "De:/Enviada em:/Para:/Assunto:",
    ),
    ("assunto", Field::Subject, "", ""),
    ("od", Field::From, "Polish", ""),
    ("wysłano", Field::Date, "Polish", "Od:/Wysłano:/Do:/Temat:"),
    ("do", Field::To, "", ""),
    ("dw", Field::To, "", ""),
    ("temat", Field::Subject, "", ""),
    ("från", Field::From, "Swedish", ""),
    (
        "skickat",
        Field::Date,
        "Swedish",
        "Från:/Skickat:/Till:/Ämne:",
    ),
    ("till", Field::To, "", ""),
    ("ämne", Field::Subject, "", ""),
    ("fra", Field::From, "Danish/Norwegian", ""),
    (
        "sendt",
        Field::Date,
        "Danish/Norwegian",
        "Fra:/Sendt:/Til:/Emne:",
    ),
    ("til", Field::To, "", ""),
    ("emne", Field::Subject, "", ""),
    ("от", Field::From, "Russian", ""),
    (
        "отправлено",
        Field::Date,
        "Russian",
        "От:/Отправлено:/Кому:/Тема:",
    ),
    ("кому", Field::To, "", ""),
    ("тема", Field::Subject, "", ""),
];

/// `From: …`, `*Von:* …`, `De : …`: a header line as Outlook quotes it.
fn header_field(line: &str) -> Option<(Field, &'static str, &'static str)> {
    let l = probe(line).trim_start_matches('*');
    let (colon, c) = l
        .char_indices()
        .take(24)
        .find(|(_, c)| *c == ':' || *c == '：')?;
    let name = l
        .get(..colon)?
        .trim_end_matches(|c: char| c == '*' || c.is_whitespace())
        .to_lowercase();
    let value = l.get(colon + c.len_utf8()..)?.trim_matches('*').trim();
    let &(_, field, language, pattern) = FIELDS.iter().find(|f| f.0 == name)?;
    if field == Field::From && value.is_empty() {
        return None;
    }
    Some((field, language, pattern))
}

/// An Outlook header block (or the separator line above one) at `i`: a
/// `From:` line followed by a date and a `To:` or `Subject:` line. Returns
/// the language and shape of the block.
fn header_block_at(lines: &[&str], i: usize, n: usize) -> Option<(&'static str, &'static str)> {
    let p = probe(lines[i]);
    if p.len() >= 10 && p.bytes().all(|b| b == b'_') {
        let next = (i + 1..n.min(i + 3)).find(|&j| !is_blank(lines[j]))?;
        return header_block_at(lines, next, n);
    }
    let (Field::From, from_language, _) = header_field(lines[i])? else {
        return None;
    };
    let mut date = None;
    let mut addressed = false;
    let mut continuation = 0;
    for line in lines.iter().take(n).skip(i + 1).take(HEADER_LOOKAHEAD) {
        if is_blank(line) {
            break;
        }
        match header_field(line) {
            Some((Field::Date, language, pattern)) => date = Some((language, pattern)),
            Some((Field::To | Field::Subject, ..)) => addressed = true,
            Some((Field::From, ..)) => break,
            None => {
                // A long To: list wraps onto a line or two.
                continuation += 1;
                if continuation > 2 {
                    break;
                }
            }
        }
    }
    let (language, pattern) = date.filter(|_| addressed)?;
    Some((
        if language.is_empty() {
            from_language
        } else {
            language
        },
        pattern,
    ))
}

fn regex(cell: &'static OnceLock<Option<Regex>>, re: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(re).ok()).as_ref()
}

const ORIGINAL_MESSAGE: &str = concat!(
    r"(?i)^-{3,}\s*(?:original message|ursprüngliche nachricht|original-nachricht|",
    r"message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|",
    r"mensagem original|wiadomość oryginalna|oryginalna wiadomość|originalmeddelande|",
    r"исходное сообщение)\s*-{3,}$"
);

/// `-----Original Message-----` and its translations.
fn is_original_message(p: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    p.starts_with("---") && regex(&RE, ORIGINAL_MESSAGE).is_some_and(|re| re.is_match(p))
}

const FORWARD: &str = concat!(
    r"(?i)^(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|",
    r"mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada|",
    r"wiadomość przekazana|пересылаемое сообщение|转发的邮件)\s*-{2,}",
    r"|begin forwarded message\s*:|anfang der weitergeleiteten nachricht\s*:",
    r"|début du message réexpédié\s*:|inicio del mensaje reenviado\s*:",
    r"|inizio messaggio inoltrato\s*:|begin doorgestuurd bericht\s*:",
    r"|início da mensagem reencaminhada\s*:|início da mensagem encaminhada\s*:",
    r"|転送されたメッセージ\s*[:：])$"
);

/// Gmail's, Thunderbird's and Apple Mail's forward markers.
fn is_forward_marker(p: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // Every marker is a dashed banner or ends in a colon: most lines are
    // neither and skip the regex.
    let shaped = p.ends_with(':')
        || p.ends_with('：')
        || (p.len() > 10 && p.starts_with("--") && p.ends_with("--"));
    shaped && p.len() < 80 && regex(&RE, FORWARD).is_some_and(|re| re.is_match(p))
}

const FOOTER: &str = concat!(
    r"(?i)^(?:sent from my\s.{2,40}",
    r"|sent from (?:outlook|mail|yahoo mail|proton ?mail|samsung mobile|my mobile)",
    r"(?:\s(?:for|on)\s(?:ios|android|iphone|ipad|windows(?:\s1[01])?))?",
    r"|get outlook for (?:ios|android)",
    r"|sent (?:via|with) (?:the )?(?:samsung|blackberry|superhuman|proton ?mail|spark).{0,40}",
    r"|von meinem\s.{2,40}\sgesendet",
    r"|gesendet von (?:meinem\s.{2,40}|mail für windows|outlook für (?:ios|android))",
    r"|gesendet mit der\s.{2,40}\sapp",
    r"|envoyé (?:de|depuis) mon\s.{2,40}",
    r"|obtenir outlook pour (?:ios|android)",
    r"|enviado desde mi\s.{2,40}",
    r"|obtener outlook para (?:ios|android)",
    r"|enviado d[eo] meu\s.{2,40}",
    r"|inviato da(?:l mio)?\s(?:iphone|ipad|android|samsung|outlook|libero mail).{0,30}",
    r"|verstuurd vanaf mijn\s.{2,40}|verzonden vanaf mijn\s.{2,40}",
    r"|wysłane z (?:mojego\s)?(?:iphone|ipada?|smartfona|telefonu|samsung|outlook).{0,30}",
    r"|отправлено с\s.{2,40}",
    r"|发自我的\s?.{2,20}|.{1,20}から送信)",
    r"\.?(?:\s*<https?://[^>\s]{1,200}>)?$"
);

/// "Sent from my iPhone" and the other lines phones and apps append.
fn is_mobile_footer(p: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // The first letters of the footers below, or the Japanese ending: most
    // lines skip the regex.
    let shaped = p
        .chars()
        .next()
        .is_some_and(|c| "sSgGvVeEoOiIwWоО发".contains(c))
        || p.contains("から送信");
    shaped && p.len() <= 160 && regex(&RE, FOOTER).is_some_and(|re| re.is_match(p))
}

// ---------------------------------------------------------------------------
// HTML to text.

/// Elements only clients' quoting produces: everything from them on is the
/// quoted message (these clients never interleave).
const HTML_MARKERS: &[(&str, &str, &str)] = &[
    ("appendonsend", "appendonsend", "Outlook"),
    ("divrplyfwdmsg", "divRplyFwdMsg", "Outlook"),
    (
        "mail-editor-reference-message-container",
        "mail-editor-reference-message-container",
        "Outlook",
    ),
    ("yahoo_quoted", "yahoo_quoted", "Yahoo Mail"),
    ("zwchr", "zwchr", "Zimbra"),
];

struct Rendered {
    text: String,
    /// Line (0-based) where a quote marker started, with its names.
    marker: Option<(usize, &'static str, &'static str)>,
    truncated: bool,
}

/// HTML as plain text the way [`strip_reply_html`] sees it: one line per
/// block element or `<br>`, blockquote levels as `>` prefixes, entities
/// decoded, head/style/script dropped.
pub fn render_html(html: &str) -> String {
    render(html).text
}

fn render(html: &str) -> Rendered {
    let html = clip(html, MAX_INPUT);
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let lbytes = lower.as_bytes();
    let mut w = Writer::default();
    let mut marker = None;
    let mut unclosed = [false; SKIPPED.len()];
    let mut i = 0;
    while i < bytes.len() {
        if w.lines.len() >= MAX_LINES {
            w.truncated = true;
            break;
        }
        match bytes[i] {
            b'<' => {
                if lbytes[i..].starts_with(b"<!--") {
                    i = memchr::memmem::find(&lbytes[i + 4..], b"-->")
                        .map_or(bytes.len(), |p| i + 4 + p + 3);
                    continue;
                }
                let next = bytes.get(i + 1).copied().unwrap_or(b' ');
                if !(next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?')) {
                    w.text('<');
                    i += 1;
                    continue;
                }
                let Some(close) = memchr::memchr(b'>', &bytes[i..]) else {
                    break;
                };
                let tag = lower.get(i + 1..i + close).unwrap_or_default();
                i += close + 1;
                let (closing, name) = tag_name(tag);
                if let Some(k) = SKIPPED.iter().position(|s| *s == name).filter(|_| !closing) {
                    // Skip to the closing tag. Once one is missing it is
                    // missing for every later opening tag too: not looking
                    // again keeps `<style><style>…` linear.
                    if !unclosed[k] {
                        let end = format!("</{name}");
                        match memchr::memmem::find(&lbytes[i..], end.as_bytes()) {
                            Some(p) => i += p,
                            None => unclosed[k] = true,
                        }
                    }
                    continue;
                }
                if !closing && marker.is_none() && w.depth == 0 {
                    if let Some(&(_, name, client)) =
                        HTML_MARKERS.iter().find(|m| tag.contains(m.0))
                    {
                        w.block();
                        marker = Some((w.lines.len(), name, client));
                    }
                }
                w.tag(closing, name);
            }
            b'&' => {
                let (c, len) = entity(html.get(i..).unwrap_or_default());
                w.text(c);
                i += len;
            }
            _ => {
                let end = memchr::memchr2(b'<', b'&', &bytes[i..]).map_or(bytes.len(), |p| i + p);
                for c in html.get(i..end).unwrap_or_default().chars() {
                    w.text(c);
                }
                i = end;
            }
        }
    }
    w.newline();
    let truncated = w.truncated;
    let mut lines = w.lines;
    while lines.last().is_some_and(|(_, l)| l.is_empty()) {
        lines.pop();
    }
    let text = lines
        .iter()
        .map(|(depth, line)| {
            let prefix = ">".repeat((*depth).min(MAX_DEPTH));
            match (depth, line.is_empty()) {
                (0, _) => line.clone(),
                (_, true) => prefix,
                _ => format!("{prefix} {line}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    Rendered {
        text,
        marker,
        truncated,
    }
}

/// Elements whose content is not text a reader sees.
const SKIPPED: [&str; 5] = ["style", "script", "head", "title", "template"];

/// `(closing, name)` of a tag's lowercase text (`/div`, `div class=…`).
fn tag_name(tag: &str) -> (bool, &str) {
    let (closing, rest) = match tag.strip_prefix('/') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, tag),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-'))
        .unwrap_or(rest.len());
    (closing, rest.get(..end).unwrap_or_default())
}

/// Builds lines from HTML text and tags.
#[derive(Default)]
struct Writer {
    /// Finished lines with their blockquote depth.
    lines: Vec<(usize, String)>,
    cur: String,
    cur_depth: usize,
    /// Whitespace seen since the last character: one space if more follows.
    space: bool,
    depth: usize,
    pre: usize,
    /// A paragraph ended (`</p>`, a blockquote edge): the next text starts
    /// after a blank line, as a reader sees it.
    para: bool,
    truncated: bool,
}

impl Writer {
    fn text(&mut self, c: char) {
        if self.pre == 0 && matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
            self.space = true;
            return;
        }
        match c {
            '\n' => return self.newline(),
            '\r' => return,
            _ => {}
        }
        if self.cur.is_empty() {
            if std::mem::take(&mut self.para) {
                let last = self.lines.last().map(|(d, l)| (*d, l.is_empty()));
                if let Some((depth, false)) = last {
                    self.lines.push((depth.min(self.depth), String::new()));
                }
            }
            self.cur_depth = self.depth;
        } else if self.space {
            self.cur.push(' ');
        }
        self.space = false;
        // A no-break space is a space a reader sees: keep it, as a space.
        self.cur.push(if c == '\u{a0}' { ' ' } else { c });
    }

    fn newline(&mut self) {
        let line = std::mem::take(&mut self.cur);
        let line = line.trim_end().to_string();
        self.space = false;
        if line.is_empty() {
            // One blank line is as good as several, and none at the start.
            if self.lines.last().is_none_or(|(_, l)| l.is_empty()) {
                return;
            }
            self.lines.push((self.depth, line));
        } else {
            self.lines.push((self.cur_depth, line));
        }
    }

    /// Starts a new line unless the current one is empty.
    fn block(&mut self) {
        if !self.cur.is_empty() {
            self.newline();
        }
        self.space = false;
    }

    fn tag(&mut self, closing: bool, name: &str) {
        match name {
            "br" => self.newline(),
            "blockquote" => {
                self.block();
                self.para = true;
                self.depth = if closing {
                    self.depth.saturating_sub(1)
                } else {
                    self.depth + 1
                };
            }
            "pre" => {
                self.block();
                self.pre = if closing {
                    self.pre.saturating_sub(1)
                } else {
                    self.pre + 1
                };
            }
            "li" => {
                self.block();
                if !closing {
                    self.text('-');
                    self.text(' ');
                    self.space = true;
                }
            }
            "td" | "th" => self.space = !self.cur.is_empty(),
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.block();
                self.para |= closing;
            }
            "ul" | "ol" | "table" => {
                self.block();
                self.para = true;
            }
            "div" | "tr" | "hr" | "section" | "article" | "header" | "footer" | "center" | "dl"
            | "dt" | "dd" | "address" | "form" | "fieldset" | "figure" | "figcaption" | "nav"
            | "main" | "aside" | "caption" | "body" | "html" => self.block(),
            _ => {}
        }
    }
}

/// Latin-1 entity names, for U+00A0 to U+00FF in order.
const LATIN1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

const ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("hellip", '…'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("sbquo", '‚'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bdquo", '„'),
    ("bull", '•'),
    ("euro", '€'),
    ("trade", '™'),
    ("ensp", ' '),
    ("emsp", ' '),
    ("thinsp", ' '),
    ("zwnj", '\u{200c}'),
    ("zwj", '\u{200d}'),
    ("lrm", '\u{200e}'),
    ("rlm", '\u{200f}'),
];

/// The character an entity at the start of `s` stands for, and its length;
/// a lone `&` stands for itself.
fn entity(s: &str) -> (char, usize) {
    let head = clip(s, 12);
    let Some(semi) = head.find(';') else {
        return ('&', 1);
    };
    let name = head.get(1..semi).unwrap_or_default();
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        code.map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
    } else {
        ENTITIES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .or_else(|| {
                let i = LATIN1.iter().position(|n| *n == name)?;
                char::from_u32(0xa0 + i as u32)
            })
    };
    match c {
        Some(c) => (c, semi + 1),
        None => ('&', 1),
    }
}

#[cfg(test)]
mod tests;
