//! `format=flowed` text (RFC 3676) joined back into paragraphs.
//!
//! Apple Mail, Thunderbird and many phones send plain text as flowed: each
//! paragraph is broken into lines of about 72 characters, every line but the
//! last ending in a space. Read as fixed text, a customer's paragraph shows
//! up in agents' notifications (and an agent's in the customer's answer) cut
//! at odd places, and quote stripping sees a quoted paragraph as several
//! lines. Joining them again is what a flowed-aware client shows its user.

/// Joins the soft-broken lines of `text` (the decoded body of a
/// `text/plain; format=flowed` part). `delsp` is the part's `DelSp=yes`:
/// the space ending a soft-broken line was added by the sender and goes.
/// Quoted lines keep their depth, written as `>` marks and one space; a
/// flowed line followed by a line of another depth ends its paragraph,
/// as RFC 3676 section 4.5 says.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined: its quote depth and text so far.
    let mut open: Option<(usize, String)> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let rest = &line[depth..];
        // Space-stuffing: one space after the quote marks (or at the start
        // of an unquoted line) was added by the sender.
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let soft = rest.ends_with(' ') && rest != "-- ";
        if let Some((d, _)) = &open {
            if *d != depth {
                if let Some((d, para)) = open.take() {
                    push_line(&mut out, d, &para);
                }
            }
        }
        let piece = if soft && delsp {
            &rest[..rest.len() - 1]
        } else {
            rest
        };
        let (d, mut para) = open.take().unwrap_or((depth, String::new()));
        para.push_str(piece);
        if soft {
            open = Some((d, para));
        } else {
            push_line(&mut out, d, &para);
        }
    }
    if let Some((d, para)) = open {
        push_line(&mut out, d, &para);
    }
    // `split` yields one line more than there are newlines, so one newline
    // too many was written.
    out.pop();
    out
}

fn push_line(out: &mut String, depth: usize, text: &str) {
    if depth > 0 {
        out.extend(std::iter::repeat_n('>', depth));
        if !text.is_empty() {
            out.push(' ');
        }
    }
    out.push_str(text);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_breaks_are_joined_and_hard_ones_kept() {
        let text = "Hello,\r\n\r\nthe printer on the third floor \r\nis on fire again, \r\nplease hurry.\r\n\r\nCarol\r\n";
        assert_eq!(
            unflow(text, false),
            "Hello,\n\nthe printer on the third floor is on fire again, please hurry.\n\nCarol\n"
        );
    }

    #[test]
    fn delsp_removes_the_added_space() {
        assert_eq!(unflow("abc \r\ndef\r\n", true), "abcdef\n");
        assert_eq!(unflow("abc \r\ndef\r\n", false), "abc def\n");
    }

    #[test]
    fn quotes_keep_their_depth_and_end_paragraphs_when_it_changes() {
        let text = "Yes.\r\n\r\nOn Monday Carol wrote:\r\n> Is it \r\n> fixed?\r\n>> older \r\n>> text\r\n> back \r\nnot quoted\r\n";
        assert_eq!(
            unflow(text, false),
            "Yes.\n\nOn Monday Carol wrote:\n> Is it fixed?\n>> older text\n> back \nnot quoted\n"
        );
    }

    #[test]
    fn stuffing_and_the_signature_separator() {
        // " From" was stuffed by the sender; "-- " is never a soft break.
        let text = " From the desk \r\nwe hear nothing.\r\n-- \r\nCarol\r\n";
        assert_eq!(
            unflow(text, false),
            "From the desk we hear nothing.\n-- \nCarol\n"
        );
    }

    #[test]
    fn text_without_a_final_newline_and_a_trailing_soft_line() {
        assert_eq!(unflow("one \r\ntwo", false), "one two");
        assert_eq!(unflow("dangling ", false), "dangling ");
        assert_eq!(unflow("", false), "");
    }
}
