//! Message-IDs as mail really carries them. RFC 5322 says `<left@right>`,
//! one or more, folded anywhere between them; what arrives also has
//! comments and old RFC 822 phrases in `In-Reply-To` (`<id> (Bob's message
//! of ...)`, `Your message of "date" <id>`), ids without brackets, ids
//! folded inside the brackets and ids whose case a gateway changed. Pure.

/// At most this many ids are read from one header: a References header
/// longer than this keeps its first id (the thread's root) and its last
/// ones (the nearest ancestors).
pub const MAX_IDS: usize = 200;

/// Longest id taken (RFC 5322 lines are 998 characters).
const MAX_ID_LEN: usize = 998;

/// The form the desk compares and indexes ids in: no angle brackets, no
/// white space, lowercase. Case: RFC 5322 makes the left part
/// case-sensitive, but gateways that rewrite case exist and two real ids
/// that differ only in case do not, so case-blind matching loses nothing.
pub fn key(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_whitespace() && *c != '<' && *c != '>')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The ids in a header value: every `<...>` (white space inside removed,
/// comments and phrases around them ignored). When there is no bracket at
/// all, the words that look like `left@right` (what some clients write).
pub fn ids(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Linear in the header's length, however many ids a hostile one holds.
    let mut keys = std::collections::HashSet::new();
    let mut push = |id: String| {
        if !id.is_empty() && id.len() <= MAX_ID_LEN && keys.insert(key(&id)) {
            out.push(id);
        }
    };
    let mut rest = value;
    let mut bracketed = false;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        bracketed = true;
        let inner = &after[..close];
        // `<a <b>`: an unclosed bracket before a closed one is noise.
        let inner = inner.rsplit('<').next().unwrap_or(inner);
        push(inner.chars().filter(|c| !c.is_whitespace()).collect());
        rest = &after[close + 1..];
    }
    if !bracketed {
        for word in value.split(|c: char| c.is_whitespace() || c == ',') {
            let word = word.trim_matches(|c: char| matches!(c, '"' | '\'' | '(' | ')' | ';'));
            if looks_like_id(word) {
                push(word.to_string());
            }
        }
    }
    if out.len() > MAX_IDS {
        let tail = out.split_off(out.len() - (MAX_IDS - 1));
        out.truncate(1);
        out.extend(tail);
    }
    out
}

/// The ids of an `In-Reply-To` value. Old clients wrote the parent's
/// author there too (`Carol <carol@example.com>'s message of ...`): a
/// bracketed token that is one of the message's own addresses (`people`:
/// From, To, Cc, Reply-To) is a mailbox, not a Message-ID, and taking it
/// would link every reply to that person into one ticket.
pub fn in_reply_to(value: &str, people: &[&str]) -> Vec<String> {
    ids(value)
        .into_iter()
        .filter(|id| !people.iter().any(|p| p.eq_ignore_ascii_case(id)))
        .collect()
}

fn looks_like_id(word: &str) -> bool {
    match word.split_once('@') {
        Some((left, right)) => {
            !left.is_empty()
                && !right.is_empty()
                && !right.contains('@')
                && word.chars().all(|c| c.is_ascii_graphic())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_space_and_case_do_not_matter_to_the_key() {
        assert_eq!(key("< Case.Root@Mail.Example >"), "case.root@mail.example");
        assert_eq!(key("case.root@mail.\r\n example"), "case.root@mail.example");
    }

    #[test]
    fn every_id_of_a_folded_list() {
        assert_eq!(
            ids("<a@x>\r\n <b@x>,\t<c@x> <a@x>"),
            vec!["a@x", "b@x", "c@x"]
        );
        assert_eq!(ids("<a@\r\n x>"), vec!["a@x"]);
    }

    #[test]
    fn comments_and_phrases_around_the_id_are_ignored() {
        assert_eq!(ids("<p@x> (Bob's message of \"Tue, 1 Dec\")"), vec!["p@x"]);
        assert_eq!(
            ids("Your message of \"Wed, 2 Dec 2026\" <p@x>"),
            vec!["p@x"]
        );
        assert_eq!(ids("Your message of Wed, 2 Dec 2026"), Vec::<String>::new());
    }

    #[test]
    fn ids_without_brackets() {
        assert_eq!(ids("p@x"), vec!["p@x"]);
        assert_eq!(ids("a@x, b@y"), vec!["a@x", "b@y"]);
        assert_eq!(ids("not an id"), Vec::<String>::new());
    }

    #[test]
    fn an_address_in_in_reply_to_is_not_an_id() {
        let v = "Carol <carol@customer.test>'s message of Thu <p@x>";
        assert_eq!(in_reply_to(v, &["Carol@Customer.test"]), vec!["p@x"]);
        assert_eq!(in_reply_to(v, &[]), vec!["carol@customer.test", "p@x"]);
    }

    #[test]
    fn a_long_list_keeps_its_root_and_its_end() {
        let v: String = (0..300).map(|i| format!("<{i}@x> ")).collect();
        let got = ids(&v);
        assert_eq!(got.len(), MAX_IDS);
        assert_eq!(got[0], "0@x");
        assert_eq!(got[1], "101@x");
        assert_eq!(got.last().map(String::as_str), Some("299@x"));
    }

    #[test]
    fn a_huge_header_is_read_in_linear_time() {
        let v: String = (0..200_000).map(|i| format!("<{i}@x>")).collect();
        assert_eq!(ids(&v).len(), MAX_IDS);
    }

    #[test]
    fn unclosed_brackets_are_noise() {
        assert_eq!(ids("<a <b@x>"), vec!["b@x"]);
        assert_eq!(ids("<b@x> <c"), vec!["b@x"]);
    }
}
