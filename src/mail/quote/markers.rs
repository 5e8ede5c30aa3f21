//! The other marks clients leave: Outlook header blocks, "Original
//! Message" separators, forward banners and mobile footers.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    From,
    Date,
    To,
    Subject,
}

/// Header names Outlook writes above the quoted message, by language. For
/// the date field, the language and the block's shape in that language.
pub(super) const FIELDS: &[(&str, Field, &str, &str)] = &[
    ("from", Field::From, "English", ""),
    ("sent", Field::Date, "English", "From:/Sent:/To:/Subject:"),
    ("date", Field::Date, "English", "From:/Date:/To:/Subject:"),
    ("to", Field::To, "", ""),
    ("cc", Field::To, "", ""),
    ("bcc", Field::To, "", ""),
    ("subject", Field::Subject, "", ""),
    ("von", Field::From, "German", ""),
    (
        "gesendet",
        Field::Date,
        "German",
        "Von:/Gesendet:/An:/Betreff:",
    ),
    ("datum", Field::Date, "German", "Von:/Datum:/An:/Betreff:"),
    ("an", Field::To, "", ""),
    ("kopie", Field::To, "", ""),
    ("betreff", Field::Subject, "", ""),
    ("de", Field::From, "French/Spanish/Portuguese", ""),
    ("envoyé", Field::Date, "French", "De :/Envoyé :/À :/Objet :"),
    ("à", Field::To, "", ""),
    ("objet", Field::Subject, "", ""),
    (
        "enviado el",
        Field::Date,
        "Spanish",
        "De:/Enviado el:/Para:/Asunto:",
    ),
    (
        "enviado",
        Field::Date,
        "Spanish/Portuguese",
        "De:/Enviado:/Para:/Asunto:",
    ),
    ("fecha", Field::Date, "Spanish", "De:/Fecha:/Para:/Asunto:"),
    ("para", Field::To, "", ""),
    ("asunto", Field::Subject, "", ""),
    ("da", Field::From, "Italian", ""),
    (
        "inviato",
        Field::Date,
        "Italian",
        "Da:/Inviato:/A:/Oggetto:",
    ),
    ("a", Field::To, "", ""),
    ("oggetto", Field::Subject, "", ""),
    (
        "data",
        Field::Date,
        "Italian/Portuguese/Polish",
        "…/Data:/…",
    ),
    ("van", Field::From, "Dutch", ""),
    (
        "verzonden",
        Field::Date,
        "Dutch",
        "Van:/Verzonden:/Aan:/Onderwerp:",
    ),
    ("aan", Field::To, "", ""),
    ("onderwerp", Field::Subject, "", ""),
    (
        "enviada em",
        Field::Date,
        "Portuguese",
        "De:/Enviada em:/Para:/Assunto:",
    ),
    ("assunto", Field::Subject, "", ""),
    ("od", Field::From, "Polish", ""),
    ("wysłano", Field::Date, "Polish", "Od:/Wysłano:/Do:/Temat:"),
    ("do", Field::To, "", ""),
    ("dw", Field::To, "", ""),
    ("temat", Field::Subject, "", ""),
    ("från", Field::From, "Swedish", ""),
    (
        "skickat",
        Field::Date,
        "Swedish",
        "Från:/Skickat:/Till:/Ämne:",
    ),
    ("till", Field::To, "", ""),
    ("ämne", Field::Subject, "", ""),
    ("fra", Field::From, "Danish/Norwegian", ""),
    (
        "sendt",
        Field::Date,
        "Danish/Norwegian",
        "Fra:/Sendt:/Til:/Emne:",
    ),
    ("til", Field::To, "", ""),
    ("emne", Field::Subject, "", ""),
    ("от", Field::From, "Russian", ""),
    (
        "отправлено",
        Field::Date,
        "Russian",
        "От:/Отправлено:/Кому:/Тема:",
    ),
    ("кому", Field::To, "", ""),
    ("тема", Field::Subject, "", ""),
];

/// `From: …`, `*Von:* …`, `De : …`: a header line as Outlook quotes it.
pub(super) fn header_field(line: &str) -> Option<(Field, &'static str, &'static str)> {
    let l = probe(line).trim_start_matches('*');
    let (colon, c) = l
        .char_indices()
        .take(24)
        .find(|(_, c)| *c == ':' || *c == '：')?;
    let name = l
        .get(..colon)?
        .trim_end_matches(|c: char| c == '*' || c.is_whitespace())
        .to_lowercase();
    let value = l.get(colon + c.len_utf8()..)?.trim_matches('*').trim();
    let &(_, field, language, pattern) = FIELDS.iter().find(|f| f.0 == name)?;
    if field == Field::From && value.is_empty() {
        return None;
    }
    Some((field, language, pattern))
}

/// An Outlook header block (or the separator line above one) at `i`: a
/// `From:` line followed by a date and a `To:` or `Subject:` line. Returns
/// the language and shape of the block.
pub(super) fn header_block_at(
    lines: &[&str],
    i: usize,
    n: usize,
) -> Option<(&'static str, &'static str)> {
    let p = probe(lines[i]);
    if p.len() >= 10 && p.bytes().all(|b| b == b'_') {
        let next = (i + 1..n.min(i + 3)).find(|&j| !is_blank(lines[j]))?;
        return header_block_at(lines, next, n);
    }
    let (Field::From, from_language, _) = header_field(lines[i])? else {
        return None;
    };
    let mut date = None;
    let mut addressed = false;
    let mut continuation = 0;
    for line in lines.iter().take(n).skip(i + 1).take(HEADER_LOOKAHEAD) {
        if is_blank(line) {
            break;
        }
        match header_field(line) {
            Some((Field::Date, language, pattern)) => date = Some((language, pattern)),
            Some((Field::To | Field::Subject, ..)) => addressed = true,
            Some((Field::From, ..)) => break,
            None => {
                // A long To: list wraps onto a line or two.
                continuation += 1;
                if continuation > 2 {
                    break;
                }
            }
        }
    }
    let (language, pattern) = date.filter(|_| addressed)?;
    Some((
        if language.is_empty() {
            from_language
        } else {
            language
        },
        pattern,
    ))
}

pub(super) fn regex(cell: &'static OnceLock<Option<Regex>>, re: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(re).ok()).as_ref()
}

pub(super) const ORIGINAL_MESSAGE: &str = concat!(
    r"(?i)^-{3,}\s*(?:original message|ursprüngliche nachricht|original-nachricht|",
    r"message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|",
    r"mensagem original|wiadomość oryginalna|oryginalna wiadomość|originalmeddelande|",
    r"исходное сообщение)\s*-{3,}$"
);

/// `-----Original Message-----` and its translations.
pub(super) fn is_original_message(p: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    p.starts_with("---") && regex(&RE, ORIGINAL_MESSAGE).is_some_and(|re| re.is_match(p))
}

pub(super) const FORWARD: &str = concat!(
    r"(?i)^(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|",
    r"mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada|",
    r"wiadomość przekazana|пересылаемое сообщение|转发的邮件)\s*-{2,}",
    r"|begin forwarded message\s*:|anfang der weitergeleiteten nachricht\s*:",
    r"|début du message réexpédié\s*:|inicio del mensaje reenviado\s*:",
    r"|inizio messaggio inoltrato\s*:|begin doorgestuurd bericht\s*:",
    r"|início da mensagem reencaminhada\s*:|início da mensagem encaminhada\s*:",
    r"|転送されたメッセージ\s*[:：])$"
);

/// Gmail's, Thunderbird's and Apple Mail's forward markers.
pub(super) fn is_forward_marker(p: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // Every marker is a dashed banner or ends in a colon: most lines are
    // neither and skip the regex.
    let shaped = p.ends_with(':')
        || p.ends_with('：')
        || (p.len() > 10 && p.starts_with("--") && p.ends_with("--"));
    shaped && p.len() < 80 && regex(&RE, FORWARD).is_some_and(|re| re.is_match(p))
}

pub(super) const FOOTER: &str = concat!(
    r"(?i)^(?:sent from my\s.{2,40}",
    r"|sent from (?:outlook|mail|yahoo mail|proton ?mail|samsung mobile|my mobile)",
    r"(?:\s(?:for|on)\s(?:ios|android|iphone|ipad|windows(?:\s1[01])?))?",
    r"|get outlook for (?:ios|android)",
    r"|sent (?:via|with) (?:the )?(?:samsung|blackberry|superhuman|proton ?mail|spark).{0,40}",
    r"|von meinem\s.{2,40}\sgesendet",
    r"|gesendet von (?:meinem\s.{2,40}|mail für windows|outlook für (?:ios|android))",
    r"|gesendet mit der\s.{2,40}\sapp",
    r"|envoyé (?:de|depuis) mon\s.{2,40}",
    r"|obtenir outlook pour (?:ios|android)",
    r"|enviado desde mi\s.{2,40}",
    r"|obtener outlook para (?:ios|android)",
    r"|enviado d[eo] meu\s.{2,40}",
    r"|inviato da(?:l mio)?\s(?:iphone|ipad|android|samsung|outlook|libero mail).{0,30}",
    r"|verstuurd vanaf mijn\s.{2,40}|verzonden vanaf mijn\s.{2,40}",
    r"|wysłane z (?:mojego\s)?(?:iphone|ipada?|smartfona|telefonu|samsung|outlook).{0,30}",
    r"|отправлено с\s.{2,40}",
    r"|发自我的\s?.{2,20}|.{1,20}から送信)",
    r"\.?(?:\s*<https?://[^>\s]{1,200}>)?$"
);

/// "Sent from my iPhone" and the other lines phones and apps append.
pub(super) fn is_mobile_footer(p: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // The first letters of the footers below, or the Japanese ending: most
    // lines skip the regex.
    let shaped = p
        .chars()
        .next()
        .is_some_and(|c| "sSgGvVeEoOiIwWоО发".contains(c))
        || p.contains("から送信");
    shaped && p.len() <= 160 && regex(&RE, FOOTER).is_some_and(|re| re.is_match(p))
}
