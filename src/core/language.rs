//! The customer's language: which one the desk writes to them in.
//!
//! One rule, decided in the core so every door (mail, `tickets set`, an
//! agent's `#lang`) behaves the same:
//!
//! 1. the language remembered for the customer: set by an agent's `#lang`
//!    or an admin's `tickets set --lang`, or found for an earlier ticket;
//! 2. else the message's `Content-Language` header;
//! 3. else the language of what the customer wrote, detected with
//!    [`whatlang`] when the text is long enough and the detection reliable.
//!
//! Only languages the desk has templates for are chosen; when none of the
//! three gives one, the desk's default language is used and nothing is
//! remembered, so the customer's next, longer mail may still be read.
//!
//! Codes are ISO 639-1, lowercase (`de`, `fr`): what `Content-Language`,
//! the template directories and `#lang` use.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Letters a text needs before its detected language is believed: below
/// this, "Danke!" or "OK" say too little (whatlang guesses, and a wrong
/// guess would be remembered for the customer).
pub const MIN_LETTERS: usize = 40;

/// The most of a text that is looked at: the language shows in the first
/// paragraphs, and detection time grows with the text.
pub const MAX_CHARS: usize = 2_000;

/// How a ticket's language was found: kept so `tickets show` can say why,
/// and so a person's choice is told from a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// An agent's `#lang`.
    Agent,
    /// An admin's `tickets set --lang`.
    Admin,
    /// The customer's mail said so in `Content-Language`.
    ContentLanguage,
    /// Detected from what the customer wrote.
    Detected,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Agent => "set by an agent",
            Source::Admin => "set by the admin",
            Source::ContentLanguage => "Content-Language of their mail",
            Source::Detected => "detected from their text",
        }
    }
}

/// The language the desk writes to a ticket's customer in, with how and
/// when it was chosen. A new ticket of the same customer inherits it as
/// it is (same `at`), so the customer's newest choice is the one with the
/// latest `at` among their tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Language {
    pub code: String,
    pub by: Source,
    pub at: DateTime<Utc>,
}

/// What the choice of a ticket's language rests on.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The customer's remembered language (see [`Language`]), if any.
    pub remembered: Option<&'a Language>,
    /// The raw `Content-Language` header of their mail.
    pub content_language: Option<&'a str>,
    /// What they wrote: subject and text without quotes or signature.
    pub text: &'a str,
    /// The languages the desk has templates for, the default first.
    pub available: &'a [String],
    /// What [`detect`] found in `text`, when it was run already (off the
    /// serial store path); `None` runs it here.
    pub detected: Option<Option<&'static str>>,
}

/// What detection reads of a message: its subject and the start of the
/// customer's own text (a huge mail is not copied whole).
pub fn detection_text(subject: &str, own_text: &str) -> String {
    let head: String = own_text.chars().take(MAX_CHARS).collect();
    format!("{subject}\n{head}")
}

/// The language to write in, or `None` for the desk's default (nothing
/// to remember). See the module documentation for the order.
pub fn choose(e: &Evidence<'_>, now: DateTime<Utc>) -> Option<Language> {
    let offered = |code: &str| e.available.iter().any(|a| a == code);
    if let Some(r) = e.remembered.filter(|r| offered(&r.code)) {
        return Some(r.clone());
    }
    let found = |code: String, by| Language { code, by, at: now };
    if let Some(code) = e
        .content_language
        .and_then(content_language)
        .filter(|c| offered(c))
    {
        return Some(found(code, Source::ContentLanguage));
    }
    // A desk that writes one language has nothing to choose between, and
    // detection is the dearest step of reading a new ticket's language.
    if e.available.len() < 2 {
        return None;
    }
    e.detected
        .unwrap_or_else(|| detect(e.text))
        .filter(|c| offered(c))
        .map(|c| found(c.to_string(), Source::Detected))
}

/// `de` from `de`, `de-DE`, `DE_at` or `German`-less garbage refused: the
/// primary subtag of a language tag (RFC 5646), two or three letters,
/// lowercased. What `#lang` and `Content-Language` are read with.
pub fn normalize(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (matches!(primary.len(), 2 | 3) && primary.chars().all(|c| c.is_ascii_lowercase()))
        .then_some(primary)
}

/// The first language a `Content-Language` header names (`de-DE, en`
/// gives `de`); a header of several languages puts the main one first.
pub fn content_language(header: &str) -> Option<String> {
    let first = header.split(',').next()?.split(';').next()?;
    normalize(first)
}

/// The language of `text`, when it says enough to tell: at least
/// [`MIN_LETTERS`] letters and a detection whatlang calls reliable.
/// `None` for short or mixed text.
pub fn detect(text: &str) -> Option<&'static str> {
    let text: String = text.chars().take(MAX_CHARS).collect();
    if text.chars().filter(|c| c.is_alphabetic()).count() < MIN_LETTERS {
        return None;
    }
    let info = whatlang::detect(&text)?;
    if !info.is_reliable() {
        return None;
    }
    iso639_1(info.lang().code())
}

/// ISO 639-1 for the ISO 639-3 codes whatlang detects; `None` for those
/// without a two-letter code (then no template directory can be named
/// for them either).
fn iso639_1(code3: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("afr", "af"),
        ("aka", "ak"),
        ("amh", "am"),
        ("ara", "ar"),
        ("aze", "az"),
        ("bel", "be"),
        ("ben", "bn"),
        ("bul", "bg"),
        ("cat", "ca"),
        ("ces", "cs"),
        ("cmn", "zh"),
        ("cym", "cy"),
        ("dan", "da"),
        ("deu", "de"),
        ("ell", "el"),
        ("eng", "en"),
        ("epo", "eo"),
        ("est", "et"),
        ("fin", "fi"),
        ("fra", "fr"),
        ("guj", "gu"),
        ("heb", "he"),
        ("hin", "hi"),
        ("hrv", "hr"),
        ("hun", "hu"),
        ("hye", "hy"),
        ("ind", "id"),
        ("ita", "it"),
        ("jav", "jv"),
        ("jpn", "ja"),
        ("kan", "kn"),
        ("kat", "ka"),
        ("khm", "km"),
        ("kor", "ko"),
        ("lat", "la"),
        ("lav", "lv"),
        ("lit", "lt"),
        ("mal", "ml"),
        ("mar", "mr"),
        ("mkd", "mk"),
        ("mya", "my"),
        ("nep", "ne"),
        ("nld", "nl"),
        ("nob", "nb"),
        ("ori", "or"),
        ("pan", "pa"),
        ("pes", "fa"),
        ("pol", "pl"),
        ("por", "pt"),
        ("ron", "ro"),
        ("rus", "ru"),
        ("sin", "si"),
        ("slk", "sk"),
        ("slv", "sl"),
        ("sna", "sn"),
        ("spa", "es"),
        ("srp", "sr"),
        ("swe", "sv"),
        ("tam", "ta"),
        ("tel", "te"),
        ("tgl", "tl"),
        ("tha", "th"),
        ("tuk", "tk"),
        ("tur", "tr"),
        ("ukr", "uk"),
        ("urd", "ur"),
        ("uzb", "uz"),
        ("vie", "vi"),
        ("yid", "yi"),
        ("zul", "zu"),
    ];
    TABLE.iter().find(|(c3, _)| *c3 == code3).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const GERMAN: &str = "Guten Tag, ich kann meine Rechnung für März nicht herunterladen. \
                          Der Link auf der Seite zeigt nur eine Fehlermeldung an. Können Sie \
                          mir die Rechnung bitte per E-Mail schicken?";
    const FRENCH: &str = "Bonjour, je n'arrive pas à télécharger ma facture du mois de mars. \
                          Le lien affiche seulement une page d'erreur. Pourriez-vous me \
                          l'envoyer par e-mail, s'il vous plaît ?";

    fn langs() -> Vec<String> {
        vec!["en".into(), "de".into(), "fr".into()]
    }

    #[test]
    fn tags_are_read_as_their_primary_language() {
        assert_eq!(normalize("de-DE").as_deref(), Some("de"));
        assert_eq!(normalize(" FR_ca ").as_deref(), Some("fr"));
        assert_eq!(normalize("german"), None);
        assert_eq!(normalize("d1"), None);
        assert_eq!(content_language("de-AT, en;q=0.5").as_deref(), Some("de"));
        assert_eq!(content_language(""), None);
    }

    #[test]
    fn long_text_is_detected_short_text_is_not() {
        assert_eq!(detect(GERMAN), Some("de"));
        assert_eq!(detect(FRENCH), Some("fr"));
        assert_eq!(detect("Danke!"), None);
        assert_eq!(detect("Merci beaucoup"), None);
        assert_eq!(detect(""), None);
    }

    #[test]
    fn remembered_then_header_then_text() {
        let remembered = Language {
            code: "fr".into(),
            by: Source::Agent,
            at: now(),
        };
        let available = langs();
        fn e<'a>(
            r: Option<&'a Language>,
            h: Option<&'static str>,
            t: &'static str,
            available: &'a [String],
        ) -> Evidence<'a> {
            Evidence {
                remembered: r,
                content_language: h,
                text: t,
                available,
                detected: None,
            }
        }
        let code = |e: Evidence<'_>| choose(&e, now()).map(|l| (l.code, l.by));
        assert_eq!(
            code(e(Some(&remembered), Some("de"), GERMAN, &available)),
            Some(("fr".into(), Source::Agent))
        );
        assert_eq!(
            code(e(None, Some("de-CH"), FRENCH, &available)),
            Some(("de".into(), Source::ContentLanguage))
        );
        assert_eq!(
            code(e(None, Some("es"), GERMAN, &available)),
            Some(("de".into(), Source::Detected)),
            "a header naming a language without templates is passed over"
        );
        assert_eq!(code(e(None, None, "Hallo, geht nicht.", &available)), None);
        let only_en = vec!["en".to_string()];
        let none = Evidence {
            remembered: Some(&remembered),
            content_language: Some("de"),
            text: GERMAN,
            available: &only_en,
            detected: None,
        };
        assert_eq!(choose(&none, now()), None, "only languages with templates");
        let english = Evidence {
            remembered: None,
            content_language: None,
            text: "Hello, I cannot download my invoice for March. The link on the page \
                   only shows an error message. Could you send it to me by mail?",
            available: &only_en,
            detected: None,
        };
        assert_eq!(
            choose(&english, now()),
            None,
            "one language: nothing to detect"
        );
        let early = Evidence {
            remembered: None,
            content_language: None,
            text: "",
            available: &available,
            detected: Some(Some("fr")),
        };
        assert_eq!(
            choose(&early, now()).map(|l| (l.code, l.by)),
            Some(("fr".into(), Source::Detected)),
            "a detection made earlier is taken as it is"
        );
    }
}
