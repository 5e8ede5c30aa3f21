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
//! - **Inline answers** (text between quoted parts): the interleaved body
//!   is kept, every quoted block above an answer whole with its `>`,
//!   because "Yes." means nothing to a customer without the question it
//!   answers, and the author already trimmed the quote to what they answer.
//!   The attribution line above it, a quoted signature, a quoted block that
//!   is only a sign-off ("> Thanks, Carol") and the quote after the last
//!   answer go. A reply that quotes everything first and answers once at
//!   the end (bottom-posting) keeps no context: the quote is the whole
//!   previous message.
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
//!   All this, and mobile footers, is the default policy
//!   ([`Signatures::Cut`], `[mail] signatures = "cut"`); under
//!   [`Signatures::Keep`] signatures and footers stay as the author's text
//!   and only quotes are cut.
//! - **Forwarded messages** ("---------- Forwarded message ---------", "Begin
//!   forwarded message:") are kept whole from the marker on: the forward is
//!   the content. An Outlook forward looks exactly like an Outlook reply
//!   (the same `From:`/`Sent:` block, the same HTML marker), so only the
//!   subject tells them apart: [`strip_message`] keeps the block and what
//!   follows when the outermost prefix is a forward's (`FW:`, `WG:`, `TR:`,
//!   ...). The desk strips agents' mail as replies whatever the subject.
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
/// A quoted block this short that starts with a sign-off ("Thanks,") is
/// no context for an inline answer.
const SIGN_OFF_LINES: usize = 3;
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
    /// An attribution that follows the author's answer on the same line
    /// ("Thanks! On … wrote:"): the answer stays, the attribution goes.
    AttributionAfterText {
        client: &'static str,
        pattern: &'static str,
    },
    /// `>` lines (or an HTML blockquote rendered as such).
    Quoted { html: bool },
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
            Reason::AttributionAfterText { client, pattern } => write!(
                f,
                "attribution line ({client}: '{pattern}') after the answer on the same line; the answer is kept"
            ),
            Reason::Quoted { html: false } => f.write_str("quoted text ('>' lines)"),
            Reason::Quoted { html: true } => f.write_str("quoted text (HTML <blockquote>)"),
            Reason::BelowAttribution => {
                f.write_str("the quoted message below an attribution line (quoted without '>')")
            }
            Reason::HeaderBlock { language, pattern } => write!(
                f,
                "header block of the quoted message, as Outlook and webmailers write it ({language}: '{pattern}'), and the message below it"
            ),
            Reason::OriginalMessage => f.write_str(
                "'-----Original Message-----' separator and the quoted message below it",
            ),
            Reason::Signature => f.write_str("signature ('-- ' delimiter, RFC 3676)"),
            Reason::LooseSignature => {
                f.write_str("signature ('--' or '__' delimiter followed by a short block)")
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
    strip_text(text, Kind::Reply, Signatures::default())
}

/// [`strip_reply`] under a signature policy.
pub fn strip_reply_with(text: &str, signatures: Signatures) -> Stripped {
    strip_text(text, Kind::Reply, signatures)
}

/// What happens to signatures (`-- ` and what follows, `--`/`__` with a
/// short block) and mobile footers ("Sent from my iPhone"). Both policies
/// are in use: helpdesks that show customers' mail as a chat cut them,
/// ones that keep a customer's phone number or an agent's signature for
/// the record keep them. Quotes are cut under either.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signatures {
    /// Cut them: only what the author typed for this message stays.
    #[default]
    Cut,
    /// Keep them as the author's text.
    Keep,
}

impl std::str::FromStr for Signatures {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cut" => Ok(Signatures::Cut),
            "keep" => Ok(Signatures::Keep),
            _ => Err(format!("'{s}' is no signature policy: cut or keep")),
        }
    }
}

impl fmt::Display for Signatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signatures::Cut => "cut",
            Signatures::Keep => "keep",
        })
    }
}

/// Whether a mail answers (quoted history is cut) or forwards (the
/// forwarded mail below the author's text is what they are sending, and
/// stays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reply,
    Forward,
}

fn strip_text(text: &str, kind: Kind, signatures: Signatures) -> Stripped {
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
    strip_lines(&lines, lines.len(), false, tail, kind, signatures)
}

/// Strips a reply given as HTML: rendered to text with `>` for every
/// blockquote level (so inline answers between blockquotes survive), cut at
/// the markers only quoting clients produce (Outlook's `divRplyFwdMsg` and
/// `appendonsend`, Yahoo's `yahoo_quoted`, …), then stripped like text. Line
/// numbers in the cuts are those of [`render_html`]'s output.
pub fn strip_reply_html(html: &str) -> Stripped {
    strip_html(html, Kind::Reply, Signatures::default())
}

fn strip_html(html: &str, kind: Kind, signatures: Signatures) -> Stripped {
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
    strip_lines(&lines, limit, true, tail, kind, signatures)
}

/// Strips a parsed message: its HTML part when it has no plain text (the
/// text mail-parser derives from HTML loses every line break between
/// `<div>`s, and with them the attribution lines), else its text. A
/// forward (by its subject, see [`super::subject::is_forward`]) keeps the
/// mail it forwards.
pub fn strip_message(msg: &Inbound, raw: &[u8]) -> (Stripped, Source) {
    strip_message_with(msg, raw, Signatures::default())
}

/// [`strip_message`] under a signature policy.
pub fn strip_message_with(msg: &Inbound, raw: &[u8], signatures: Signatures) -> (Stripped, Source) {
    let kind = if super::subject::is_forward(&msg.subject) {
        Kind::Forward
    } else {
        Kind::Reply
    };
    strip_message_as_with(msg, raw, kind, signatures)
}

/// [`strip_message`] as a reply or a forward whatever the subject says.
pub fn strip_message_as(msg: &Inbound, raw: &[u8], kind: Kind) -> (Stripped, Source) {
    strip_message_as_with(msg, raw, kind, Signatures::default())
}

/// [`strip_message_as`] under a signature policy.
pub fn strip_message_as_with(
    msg: &Inbound,
    raw: &[u8],
    kind: Kind,
    signatures: Signatures,
) -> (Stripped, Source) {
    if msg.html_only {
        let html = super::limits::view(raw, &super::Limits::default()).and_then(|bytes| {
            mail_parser::MessageParser::default()
                .parse(&bytes[..])
                .and_then(|m| m.body_html(0).map(|h| h.into_owned()))
        });
        if let Some(html) = html {
            return (strip_html(&html, kind, signatures), Source::Html);
        }
    }
    (strip_text(&msg.text, kind, signatures), Source::Text)
}

/// What `postdesk strip` does with its input: a whole message when it starts
/// with a header line and parses as mail, else a bare body.
pub fn strip_raw(raw: &[u8]) -> (Stripped, Source) {
    strip_raw_with(raw, Signatures::default())
}

/// [`strip_raw`] under a signature policy.
pub fn strip_raw_with(raw: &[u8], signatures: Signatures) -> (Stripped, Source) {
    if starts_with_header(raw) {
        if let Ok(msg) = crate::mail::parse(raw) {
            return strip_message_with(&msg, raw, signatures);
        }
    }
    let text = String::from_utf8_lossy(&raw[..raw.len().min(MAX_INPUT)]);
    (strip_reply_with(&text, signatures), Source::Body)
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
    /// The attribution shared a line with the author's answer.
    after_text: bool,
}

/// The core: `lines[..limit]` are examined, `lines[limit..]` are cut by
/// `tail` (an HTML marker), and on fallback the whole of `lines` is kept.
fn strip_lines(
    lines: &[&str],
    limit: usize,
    html: bool,
    tail: Option<Cut>,
    kind: Kind,
    signatures: Signatures,
) -> Stripped {
    let n = limit.min(lines.len());
    // Lines may be shortened: an answer and an attribution share a line.
    let mut owned: Vec<&str> = lines.to_vec();
    let lines = &mut owned[..];
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
                after_text: false,
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
        // An attribution is trusted when it carries a date (strong) or has
        // a quote under it; a line with neither is not worth the patterns.
        // This keeps a file of "x wrote:" lines linear at a small factor.
        let window_end = (i + MAX_ATTRIBUTION_LINES).min(n);
        let candidate = quote_near(lines, i, n)
            || lines[i..window_end]
                .iter()
                .any(|l| probe(l).bytes().any(|b| b.is_ascii_digit()));
        if let Some((at, client, pattern)) =
            candidate.then(|| attribution_after_text(line)).flatten()
        {
            let next = (i + 1..n).find(|&j| !is_blank(lines[j]));
            if let Some(k) = next.filter(|&k| is_quoted(lines[k])) {
                let end = quote_end(lines, k, n);
                let mut c = cut(
                    lines,
                    i,
                    i,
                    Reason::AttributionAfterText { client, pattern },
                );
                c.excerpt = excerpt(&p[at..]);
                cuts.push(c);
                lines[i] = p[..at].trim_end();
                keep[i] = true;
                quotes.push(Quote {
                    start: i + 1,
                    attribution: None,
                    first_quoted: k,
                    end,
                    after_text: true,
                });
                i = end;
                continue;
            }
        }
        if let Some(a) = candidate
            .then(|| attribution(&lines[i..window_end]))
            .flatten()
        {
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
                        after_text: false,
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
        let cut_signatures = signatures == Signatures::Cut;
        if let Some(strict) = signature_delimiter(line, html).filter(|_| cut_signatures) {
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
        if cut_signatures && is_mobile_footer(p) {
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
        if qi == 0
            && answer_after
            && q.attribution.is_none()
            && !q.after_text
            && quoted_lines <= OWN_QUOTE_LINES
        {
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
        // The quoted block above an answer stays whole: it is what the
        // author chose to answer. A quoted signature at its end goes, and
        // so does a block that is only a quoted sign-off ("> Thanks,\n>
        // Carol"): no answer refers to those.
        let floor = quoted_from.max(q.first_quoted);
        let mut stop = (floor..q.end)
            .rev()
            .take(2 * LOOSE_SIGNATURE_LINES)
            .find(|&j| unquote_all(lines[j]).trim_end() == "--")
            .unwrap_or(q.end);
        while stop > floor && quoted_blank(lines[stop - 1]) {
            stop -= 1;
        }
        let mut from = floor;
        while from < stop && quoted_blank(lines[from]) {
            from += 1;
        }
        let sign_off = from < stop
            && is_closing(unquote_all(lines[from]))
            && (from..stop).filter(|&j| !quoted_blank(lines[j])).count() <= SIGN_OFF_LINES;
        if sign_off {
            from = stop;
        }
        if from == stop {
            if quoted_from < q.end {
                cuts.push(cut(lines, quoted_from, q.end - 1, Reason::Quoted { html }));
            }
            continue;
        }
        // Only blank lines lie between `quoted_from` and `from`: no cut
        // worth naming.
        keep[from..stop].fill(true);
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

/// Whether a `>` line follows line `i` closely enough to sit under an
/// attribution that starts at `i` (wrapped, then blank lines).
fn quote_near(lines: &[&str], i: usize, n: usize) -> bool {
    lines[(i + 1).min(n)..(i + 2 * MAX_ATTRIBUTION_LINES + 2).min(n)]
        .iter()
        .any(|l| is_quoted(l))
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
    // `__` is the delimiter some webmailers and users type instead.
    if line.trim() == "__" {
        return Some(false);
    }
    if line.trim() != "--" {
        return None;
    }
    Some(html || line.starts_with("-- "))
}

mod attribution;
mod html;
mod markers;

use attribution::*;
pub use html::render_html;
use html::*;
use markers::*;

#[cfg(test)]
mod tests;
