//! Subjects as mail clients mangle them: reply and forward prefixes in many
//! languages, counters (`Re[2]:`), full-width colons, and our own ticket tag.

use std::sync::OnceLock;

use regex::Regex;

/// Reply prefixes seen from real clients, without the colon. Outlook
/// localizes them; Chinese clients use full-width colons. Matched
/// case-insensitively.
const REPLY_PREFIXES: &[&str] = &[
    "re", "aw", "sv", "vs", "antw", "antwort", "odp", "ynt", "rif", "r", "ref", "réf", "res",
    "回复", "答复", "回覆", "返信", "ΑΠ", "ΣΧΕΤ", "Отв", "השב",
];

/// Forward prefixes (Outlook's `WG:`, `TR:`, `RV:`, `Doorst:`, ...), as
/// [`REPLY_PREFIXES`].
const FORWARD_PREFIXES: &[&str] = &[
    "fwd",
    "fw",
    "wg",
    "tr",
    "rv",
    "enc",
    "doorst",
    "vl",
    "vb",
    "pd",
    "i",
    "fs",
    "转发",
    "轉寄",
    "転送",
    "ΠΡΘ",
    "Пересл",
    "הועבר",
];

/// Whether the sender forwarded the mail: its outermost prefix is a
/// forward's (`Fwd: Re: x` is a forward, `Re: Fwd: x` a reply to one).
/// Outlook writes the same header block under a forward as under a reply,
/// so the subject is what tells them apart.
pub fn is_forward(subject: &str) -> bool {
    let s = subject.trim_start();
    let Some(m) = prefix_re().find(s) else {
        return false;
    };
    let word = m
        .as_str()
        .trim()
        .trim_end_matches([':', '：'])
        .trim_end()
        .trim_end_matches(|c: char| c.is_ascii_digit() || matches!(c, '[' | ']' | '(' | ')'))
        .trim_end()
        .to_lowercase();
    FORWARD_PREFIXES.iter().any(|p| p.to_lowercase() == word)
}

fn prefix_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let alts: Vec<String> = REPLY_PREFIXES
            .iter()
            .chain(FORWARD_PREFIXES)
            .map(|p| regex::escape(p))
            .collect();
        // A prefix, an optional counter like [2] or (3), then an ASCII or
        // full-width colon. Mailing-list tags in brackets are not touched.
        let pattern = format!(
            r"(?i)^\s*(?:{})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
            alts.join("|")
        );
        Regex::new(&pattern).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
    })
}

/// The subject with every leading reply/forward prefix removed:
/// `AW: WG: Re[2]: Printer` → `Printer`.
pub fn strip_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    // Bounded: a hostile subject of a million "Re:" is not worth more work.
    for _ in 0..64 {
        match prefix_re().find(s) {
            Some(m) if m.end() > 0 => s = s[m.end()..].trim_start(),
            _ => break,
        }
    }
    s
}

/// Finds ticket tags such as `[ACME-42]` for one prefix, case-insensitively.
#[derive(Debug, Clone)]
pub struct TagMatcher {
    re: Regex,
}

impl TagMatcher {
    pub fn new(prefix: &str) -> TagMatcher {
        TagMatcher::any(&[prefix.to_string()])
    }

    /// Tags with any of these prefixes: the desk's, and those it had
    /// before a change of `desk.ticket_prefix`, whose tags still stand in
    /// customers' subjects.
    pub fn any(prefixes: &[String]) -> TagMatcher {
        let alternatives: Vec<String> = prefixes.iter().map(|p| regex::escape(p)).collect();
        let pattern = format!(r"(?i)\[\s*(?:{})-(\d{{1,18}})\s*\]", alternatives.join("|"));
        // The prefix is validated as alphanumeric by config, so this cannot
        // fail; fall back to a never-matching pattern rather than panic.
        let re = Regex::new(&pattern).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"));
        TagMatcher { re }
    }

    /// Every ticket number tagged in the subject, in order of appearance.
    pub fn numbers(&self, subject: &str) -> Vec<u64> {
        self.re
            .captures_iter(subject)
            .filter_map(|c| c.get(1)?.as_str().parse().ok())
            .take(10)
            .collect()
    }

    /// The subject with our tags removed, for showing and for new tickets.
    pub fn remove(&self, subject: &str) -> String {
        let s = self.re.replace_all(subject, " ");
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// What a ticket is called: the subject without prefixes and our own tags.
pub fn ticket_subject(tags: &TagMatcher, subject: &str) -> String {
    let mut s = tags.remove(strip_prefixes(subject));
    // Prefixes can also sit after a tag: "[ACME-4] Re: printer".
    s = strip_prefixes(&s).to_string();
    if s.is_empty() {
        "(no subject)".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_are_told_by_the_outermost_prefix() {
        for (subject, forward) in [
            ("FW: Invoice 4711", true),
            ("Fwd: Re: Invoice", true),
            ("WG: Rechnung", true),
            ("TR : Facture", true),
            ("Doorst: factuur", true),
            ("Пересл: счёт", true),
            ("转发：发票", true),
            ("Re: Fwd: Invoice", false),
            ("AW: WG: Rechnung", false),
            ("Invoice", false),
            ("Fwd thinking about invoices", false),
            ("I: fattura", true),
            ("Info: fattura", false),
        ] {
            assert_eq!(is_forward(subject), forward, "{subject}");
        }
    }

    #[test]
    fn strips_prefixes_in_many_languages() {
        for (input, want) in [
            ("Re: Printer", "Printer"),
            ("RE: RE: Printer", "Printer"),
            ("AW: WG: Printer", "Printer"),
            ("SV: Printer", "Printer"),
            ("Antw: Printer", "Printer"),
            ("Fwd: Fw: Printer", "Printer"),
            ("TR: Printer", "Printer"),
            ("RV: Printer", "Printer"),
            ("Re[2]: Printer", "Printer"),
            ("回复：Printer", "Printer"),
            ("答复: Printer", "Printer"),
            ("Re : Printer", "Printer"),
            ("Reply needed", "Reply needed"),
            ("Re:", ""),
            ("[list] Re: x", "[list] Re: x"),
        ] {
            assert_eq!(strip_prefixes(input), want, "{input}");
        }
    }

    #[test]
    fn finds_and_removes_tags() {
        let m = TagMatcher::new("ACME");
        assert_eq!(m.numbers("Re: [ACME-42] printer [acme-7]"), vec![42, 7]);
        assert_eq!(m.numbers("[OTHER-42]"), Vec::<u64>::new());
        assert_eq!(
            ticket_subject(&m, "AW: [ACME-42] Re: Printer down"),
            "Printer down"
        );
        assert_eq!(ticket_subject(&m, "Re:"), "(no subject)");
    }

    #[test]
    fn hostile_subject_is_bounded() {
        let s = "Re: ".repeat(100_000) + "x";
        let out = strip_prefixes(&s);
        assert!(out.len() < s.len());
    }
}
