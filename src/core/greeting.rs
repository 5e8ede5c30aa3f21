//! Whom a mail greets: the customer's given name, when their display name
//! shows one, else nobody ("Hello," / "Hallo," / "Bonjour,").
//!
//! A display name is whatever the sender's mail client (or a forger) put
//! in `From:`, so it is read as hostile: control and bidirectional
//! characters go, an address or a link is never a name, a role mailbox
//! ("ACME Billing", "info") or a company is nobody, and what is left is
//! short, one line, and made of letters.

/// The longest display name kept, in characters.
const MAX_NAME: usize = 64;

/// Words that make a display name a mailbox or a department rather than a
/// person, wherever they stand. Compared lowercased, without a trailing `.`.
const NOT_A_PERSON: &[&str] = &[
    "accounting",
    "accounts",
    "admin",
    "administrator",
    "billing",
    "buchhaltung",
    "bureau",
    "compta",
    "comptabilité",
    "contact",
    "department",
    "facturation",
    "helpdesk",
    "info",
    "kundenservice",
    "mailer-daemon",
    "no-reply",
    "noreply",
    "office",
    "postmaster",
    "rechnung",
    "sales",
    "service",
    "services",
    "support",
    "team",
    "vertrieb",
    "webmaster",
    "équipe",
];

/// Legal forms that end a company's name ("Acme GmbH", "Initech Inc.").
/// Only as the last word: some are names too.
const COMPANY: &[&str] = &[
    "ag", "bv", "co", "corp", "gmbh", "inc", "kg", "llc", "ltd", "nv", "plc", "sa", "sarl", "sas",
];

/// Titles in front of a name: "Dr. Hans Müller" greets Hans.
const TITLES: &[&str] = &[
    "dr", "prof", "mr", "mrs", "ms", "miss", "herr", "frau", "m", "mme", "mlle", "monsieur",
    "madame", "sir",
];

/// The display name as it may be shown: one line, no control or
/// bidirectional characters, no surrounding quotes, at most [`MAX_NAME`]
/// characters; `None` when nothing is left or it is an address (a
/// display name `bob@example.com` is no name to show).
pub fn display_name(raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let mut out = String::new();
    let mut space = false;
    for c in raw.chars() {
        if matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}' | '\u{feff}')
        {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    let out = out.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
    if out.is_empty() || out.contains('@') || out.contains("://") || out.contains('<') {
        return None;
    }
    let cut: String = out.chars().take(MAX_NAME).collect();
    Some(cut.trim().to_string())
}

/// The given name to greet with, or `None`: "Müller, Hans" and "Hans
/// Müller" give `Hans`; "ACME Billing", "info", an address, a name that
/// is the address's local part, initials or anything with digits give
/// nothing.
pub fn given_name(display: Option<&str>, email: &str) -> Option<String> {
    let name = display_name(display)?;
    let local = email.split('@').next().unwrap_or_default();
    if name.eq_ignore_ascii_case(local) && !name.contains(' ') && name == name.to_lowercase() {
        // `jsmith <jsmith@example.com>`: the client only repeated the box.
        return None;
    }
    let words: Vec<&str> = name
        .split([' ', ','])
        .map(|w| w.trim_matches(|c: char| c == '(' || c == ')'))
        .filter(|w| !w.is_empty())
        .collect();
    let plain = |w: &str| w.trim_end_matches('.').to_lowercase();
    let company = words.len() > 1
        && words
            .last()
            .is_some_and(|w| COMPANY.contains(&plain(w).as_str()));
    if company
        || words
            .iter()
            .any(|w| NOT_A_PERSON.contains(&plain(w).as_str()))
    {
        return None;
    }
    // "Müller, Hans": the given name follows the comma.
    let candidates: Vec<&str> = match name.split_once(',') {
        Some((_, given)) => given.split_whitespace().collect(),
        None => words,
    };
    let first = candidates
        .into_iter()
        .find(|w| !TITLES.contains(&plain(w).as_str()))?;
    let ok = first.chars().count() >= 2
        && first.chars().next().is_some_and(char::is_alphabetic)
        && first
            .chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        && !first.ends_with(['-', '\'']);
    if !ok {
        return None;
    }
    // An all-lowercase name is a person who did not bother: greet them
    // with a capital. Anything else is written as they write it.
    if first == first.to_lowercase() {
        let mut chars = first.chars();
        let head: String = chars
            .next()
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default();
        return Some(head + chars.as_str());
    }
    Some(first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str) -> Option<String> {
        given_name(Some(name), "someone@example.com")
    }

    #[test]
    fn given_names_from_both_orders() {
        assert_eq!(g("Müller, Hans").as_deref(), Some("Hans"));
        assert_eq!(g("Hans Müller").as_deref(), Some("Hans"));
        assert_eq!(g("\"Müller, Hans Peter\"").as_deref(), Some("Hans"));
        assert_eq!(g("Dr. Hans Müller").as_deref(), Some("Hans"));
        assert_eq!(g("Jean-Luc Picard").as_deref(), Some("Jean-Luc"));
        assert_eq!(g("Zoë").as_deref(), Some("Zoë"));
        assert_eq!(g("carol diaz").as_deref(), Some("Carol"));
        assert_eq!(g("O'Brien, Siobhán").as_deref(), Some("Siobhán"));
        assert_eq!(g("Carol Customer").as_deref(), Some("Carol"));
        assert_eq!(g("Sa Nguyen").as_deref(), Some("Sa"));
    }

    #[test]
    fn mailboxes_companies_and_addresses_are_nobody() {
        for nobody in [
            "ACME Billing",
            "info",
            "Support Team",
            "Acme GmbH",
            "Initech Inc.",
            "bob@example.com",
            "\"carol@example.net\"",
            "J. Smith",
            "R2D2",
            "https://evil.example",
            "",
            "   ",
        ] {
            assert_eq!(g(nobody), None, "{nobody:?}");
        }
        assert_eq!(given_name(None, "hans@example.com"), None);
        assert_eq!(given_name(Some("jsmith"), "jsmith@example.com"), None);
    }

    #[test]
    fn hostile_names_are_made_harmless() {
        assert_eq!(g("Hans\r\nBcc: evil@x.test"), None, "an address inside");
        assert_eq!(g("Ha\u{202e}ns Müller").as_deref(), Some("Hans"));
        assert_eq!(g("Hans\u{0}\u{7} Müller").as_deref(), Some("Hans"));
        assert_eq!(g("{{ticket.ref}} Müller"), None);
        assert_eq!(
            display_name(Some("Hans\r\n  Müller")).as_deref(),
            Some("Hans Müller")
        );
        assert_eq!(
            display_name(Some(&"x".repeat(500))).map(|n| n.len()),
            Some(64)
        );
        assert_eq!(display_name(Some("bob@example.com")), None);
    }
}
