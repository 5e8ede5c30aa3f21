//! HTML to text, the way the stripper reads it: one line per block,
//! blockquote levels as `>`, and the markers quoting clients leave.

use super::*;

/// Elements only clients' quoting produces: everything from them on is the
/// quoted message (these clients never interleave).
pub(super) const HTML_MARKERS: &[(&str, &str, &str)] = &[
    ("appendonsend", "appendonsend", "Outlook"),
    ("divrplyfwdmsg", "divRplyFwdMsg", "Outlook"),
    (
        "mail-editor-reference-message-container",
        "mail-editor-reference-message-container",
        "Outlook",
    ),
    ("yahoo_quoted", "yahoo_quoted", "Yahoo Mail"),
    ("zwchr", "zwchr", "Zimbra"),
    // Outlook desktop's header block: a div with only a top border, grey
    // in Outlook 2013 and later, blue in 2007/2010.
    (
        "border-top:solid #e1e1e1",
        "Outlook header block (border-top div)",
        "Outlook",
    ),
    (
        "border-top:solid #b5c4df",
        "Outlook header block (border-top div)",
        "Outlook",
    ),
];

pub(super) struct Rendered {
    pub(super) text: String,
    /// Line (0-based) where a quote marker started, with its names.
    pub(super) marker: Option<(usize, &'static str, &'static str)>,
    pub(super) truncated: bool,
}

/// HTML as plain text the way [`strip_reply_html`] sees it: one line per
/// block element or `<br>`, blockquote levels as `>` prefixes, entities
/// decoded, head/style/script dropped.
pub fn render_html(html: &str) -> String {
    render(html).text
}

pub(super) fn render(html: &str) -> Rendered {
    let html = clip(html, MAX_INPUT);
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let lbytes = lower.as_bytes();
    let mut w = Writer::default();
    let mut marker = None;
    let mut unclosed = [false; SKIPPED.len()];
    // The last `<p>` opened was Outlook's `MsoNormal`.
    let mut mso = false;
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
                // Outlook's Word HTML sets `p.MsoNormal` to no margin:
                // its paragraphs are lines, not paragraphs.
                if name == "p" && !closing {
                    mso = tag.contains("msonormal");
                }
                let name = if name == "p" && mso { "div" } else { name };
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
pub(super) const SKIPPED: [&str; 5] = ["style", "script", "head", "title", "template"];

/// `(closing, name)` of a tag's lowercase text (`/div`, `div class=…`).
pub(super) fn tag_name(tag: &str) -> (bool, &str) {
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
pub(super) struct Writer {
    /// Finished lines with their blockquote depth.
    pub(super) lines: Vec<(usize, String)>,
    pub(super) cur: String,
    pub(super) cur_depth: usize,
    /// Whitespace seen since the last character: one space if more follows.
    pub(super) space: bool,
    pub(super) depth: usize,
    pub(super) pre: usize,
    /// A paragraph ended (`</p>`, a blockquote edge): the next text starts
    /// after a blank line, as a reader sees it.
    pub(super) para: bool,
    pub(super) truncated: bool,
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
pub(super) const LATIN1: [&str; 96] = [
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

pub(super) const ENTITIES: &[(&str, char)] = &[
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
pub(super) fn entity(s: &str) -> (char, usize) {
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
