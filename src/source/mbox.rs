//! Reading an mbox file one message at a time, for `import mbox`.
//!
//! Every line that starts with `From ` begins a message (mboxo and mboxrd
//! agree on that much); body lines the writer escaped as `>From ` are
//! unescaped the mboxrd way. The reader streams, so a multi-gigabyte archive
//! needs no more memory than its largest message.

use std::io::{self, BufRead};

pub struct MboxReader<R> {
    input: R,
    /// The `From ` line that starts the next message, already read.
    pending_separator: bool,
    line: Vec<u8>,
    /// Bytes of the file read so far, for progress.
    pub position: u64,
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(input: R) -> Self {
        MboxReader {
            input,
            pending_separator: false,
            line: Vec::new(),
            position: 0,
        }
    }

    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let n = self.input.read_until(b'\n', &mut self.line)?;
        self.position += n as u64;
        Ok(n > 0)
    }
}

fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ")
}

/// `>From ` → `From `, `>>From ` → `>From ` (mboxrd).
fn unescape(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|b| **b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        // Only blank lines may come before the first separator: anything
        // else means this is not an mbox, and skipping it would lose mail.
        if !self.pending_separator {
            loop {
                match self.read_line() {
                    Ok(true) if is_separator(&self.line) => break,
                    Ok(true) if self.line.iter().all(u8::is_ascii_whitespace) => continue,
                    Ok(true) => {
                        return Some(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "not an mbox: the first line does not start with `From `",
                        )))
                    }
                    Ok(false) => return None,
                    Err(e) => return Some(Err(e)),
                }
            }
        }
        self.pending_separator = false;
        let mut msg = Vec::new();
        loop {
            match self.read_line() {
                Ok(true) if is_separator(&self.line) => {
                    self.pending_separator = true;
                    break;
                }
                Ok(true) => {
                    let line = unescape(&self.line);
                    msg.extend_from_slice(line);
                }
                Ok(false) => break,
                Err(e) => return Some(Err(e)),
            }
        }
        // The blank line before the next separator belongs to the mbox.
        if msg.ends_with(b"\r\n\r\n") {
            msg.truncate(msg.len() - 2);
        } else if msg.ends_with(b"\n\n") {
            msg.truncate(msg.len() - 1);
        }
        Some(Ok(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_unescapes() {
        let data = b"From a@b Mon Jan 1 00:00:00 2026\nSubject: one\n\nhi\n>From here\n>>From there\n\nFrom c@d Mon Jan 1 00:00:00 2026\nSubject: two\n\nbye\n";
        let msgs: Vec<Vec<u8>> = MboxReader::new(&data[..]).map(|m| m.unwrap()).collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&msgs[0]),
            "Subject: one\n\nhi\nFrom here\n>From there\n"
        );
        assert_eq!(String::from_utf8_lossy(&msgs[1]), "Subject: two\n\nbye\n");
    }

    #[test]
    fn empty_input_has_no_messages_and_junk_is_an_error() {
        assert_eq!(MboxReader::new(&b"\n"[..]).count(), 0);
        let first = MboxReader::new(&b"junk\nmore\n"[..]).next().unwrap();
        assert!(first.is_err());
    }
}
