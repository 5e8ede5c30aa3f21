//! Folder names on the wire: IMAP quotes them and writes anything beyond
//! ASCII in its own "modified UTF-7" (RFC 3501 5.1.3), so that an admin can
//! write `folder = "Entwürfe"` and mean the folder their mail client shows.

/// A folder name as a quoted IMAP string, non-ASCII in modified UTF-7.
pub fn quoted(name: &str) -> Result<String, String> {
    if name.contains(['\r', '\n', '\0']) {
        return Err(format!("folder name {name:?} contains a line break"));
    }
    let encoded = utf7(name);
    Ok(format!(
        "\"{}\"",
        encoded.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Modified UTF-7: printable ASCII stays (with `&` as `&-`), every other
/// run becomes `&` + base64 of its UTF-16BE with `,` for `/` + `-`.
pub fn utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&base64_comma(&bytes));
        out.push('-');
        run.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Base64 without padding, `,` instead of `/` (modified UTF-7's alphabet).
fn base64_comma(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3501_examples_and_ascii() {
        assert_eq!(utf7("INBOX"), "INBOX");
        assert_eq!(utf7("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(utf7("Entwürfe"), "Entw&APw-rfe");
        // RFC 3501 5.1.3: "~peter/mail/台北/日本語"
        assert_eq!(
            utf7("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quoted("Processed").unwrap(), "\"Processed\"");
        assert_eq!(quoted("a\"b\\c").unwrap(), "\"a\\\"b\\\\c\"");
        assert!(quoted("bad\r\nLOGOUT").is_err());
    }
}
