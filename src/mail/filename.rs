//! Attachment file names made safe to show, match, write into a header we
//! send, or use as a file name on any system.
//!
//! The name is the sender's text: it may carry a path (`../../etc/passwd`,
//! `C:\x`), control characters that rewrite a terminal line or split a
//! header, a device name Windows opens instead of a file (`CON.txt`), or
//! hundreds of kilobytes. What comes out is one plain name of at most
//! [`MAX_BYTES`] bytes that keeps its extension where it can.

/// Longest name kept, in bytes (most file systems allow 255).
pub const MAX_BYTES: usize = 200;

/// Names Windows reserves for devices, with or without an extension.
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "conin$",
    "conout$",
];

/// The safe form of an attachment name; `unnamed` when nothing is left.
pub fn sanitize(name: &str) -> String {
    let name = decode_rfc2231(name);
    // Only the last path component: the sender's folders mean nothing here.
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            // Unicode direction overrides make `exe.txt` read as `txt.exe`.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => ' ',
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    // Windows drops trailing dots and spaces; a leading dot hides a file.
    let cleaned = cleaned.trim_matches(|c: char| c == '.' || c == ' ');
    if cleaned.is_empty() {
        return "unnamed".into();
    }
    let stem = cleaned.split('.').next().unwrap_or_default();
    let mut out = if RESERVED.iter().any(|r| stem.eq_ignore_ascii_case(r)) {
        format!("_{cleaned}")
    } else {
        cleaned.to_string()
    };
    if out.len() > MAX_BYTES {
        out = shorten(&out);
    }
    out
}

/// Cuts to [`MAX_BYTES`], keeping a short extension.
fn shorten(name: &str) -> String {
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|e| e.len() <= 16)
        .unwrap_or_default();
    let mut cut = MAX_BYTES - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &name[..cut])
}

/// `utf-8''na%C3%AFve.txt` (RFC 2231 extended value) when a parser left
/// it undecoded; anything else is returned as it is.
fn decode_rfc2231(name: &str) -> String {
    let mut pieces = name.splitn(3, '\'');
    let (Some(charset), Some(_lang), Some(value)) = (pieces.next(), pieces.next(), pieces.next())
    else {
        return name.to_string();
    };
    let Some(encoding) = encoding_rs::Encoding::for_label(charset.trim().as_bytes()) else {
        return name.to_string();
    };
    if !value.contains('%') {
        return name.to_string();
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    encoding.decode(&out).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn paths_and_traversal_are_dropped() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("C:\\Windows\\evil.exe"), "evil.exe");
        assert_eq!(sanitize(".."), "unnamed");
        assert_eq!(sanitize("/"), "unnamed");
        assert_eq!(sanitize(""), "unnamed");
        assert_eq!(sanitize(".bashrc"), "bashrc");
    }

    #[test]
    fn control_and_special_characters_are_replaced() {
        assert_eq!(sanitize("a\0b\r\nBcc: x@y.txt"), "a b Bcc_ x@y.txt");
        assert_eq!(sanitize("what?<x>|*.pdf"), "what__x___.pdf");
        assert_eq!(sanitize("invoice\u{202e}fdp.exe"), "invoice fdp.exe");
        assert_eq!(sanitize("report.pdf. . "), "report.pdf");
    }

    #[test]
    fn reserved_windows_names_get_a_prefix() {
        assert_eq!(sanitize("CON"), "_CON");
        assert_eq!(sanitize("nul.txt"), "_nul.txt");
        assert_eq!(sanitize("com1.tar.gz"), "_com1.tar.gz");
        assert_eq!(sanitize("console.txt"), "console.txt");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "é".repeat(500));
        let s = sanitize(&long);
        assert!(s.len() <= super::MAX_BYTES && s.ends_with(".pdf"), "{s}");
    }

    #[test]
    fn rfc2231_values_are_decoded() {
        assert_eq!(sanitize("utf-8''na%C3%AFve%2Fx.txt"), "x.txt");
        assert_eq!(sanitize("iso-8859-1'en'caf%E9.doc"), "café.doc");
        assert_eq!(sanitize("it's fine.txt"), "it's fine.txt");
    }
}
