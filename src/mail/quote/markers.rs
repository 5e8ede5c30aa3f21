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
    ("копия", Field::To, "", ""),
    ("дата", Field::Date, "Russian", "От:/Дата:/Кому:/Тема:"),
    ("kopia", Field::To, "", ""),
    ("kopi", Field::To, "", ""),
    (
        "dato",
        Field::Date,
        "Danish/Norwegian",
        "Fra:/Dato:/Til:/Emne:",
    ),
    ("lähettäjä", Field::From, "Finnish", ""),
    (
        "lähetetty",
        Field::Date,
        "Finnish",
        "Lähettäjä:/Lähetetty:/Vastaanottaja:/Aihe:",
    ),
    (
        "päivämäärä",
        Field::Date,
        "Finnish",
        "Lähettäjä:/Päivämäärä:/…",
    ),
    ("vastaanottaja", Field::To, "", ""),
    ("kopio", Field::To, "", ""),
    ("aihe", Field::Subject, "", ""),
    (
        "odesláno",
        Field::Date,
        "Czech",
        "Od:/Odesláno:/Komu:/Předmět:",
    ),
    ("komu", Field::To, "", ""),
    ("kopie", Field::To, "", ""),
    ("předmět", Field::Subject, "", ""),
    ("feladó", Field::From, "Hungarian", ""),
    (
        "elküldve",
        Field::Date,
        "Hungarian",
        "Feladó:/Elküldve:/Címzett:/Tárgy:",
    ),
    (
        "dátum",
        Field::Date,
        "Hungarian",
        "Feladó:/Dátum:/Címzett:/Tárgy:",
    ),
    ("címzett", Field::To, "", ""),
    ("másolatot kap", Field::To, "", ""),
    ("tárgy", Field::Subject, "", ""),
    ("kimden", Field::From, "Turkish", ""),
    (
        "gönderildi",
        Field::Date,
        "Turkish",
        "Kimden:/Gönderildi:/Kime:/Konu:",
    ),
    (
        "tarih",
        Field::Date,
        "Turkish",
        "Kimden:/Tarih:/Kime:/Konu:",
    ),
    ("kime", Field::To, "", ""),
    ("bilgi", Field::To, "", ""),
    ("konu", Field::Subject, "", ""),
    ("από", Field::From, "Greek", ""),
    (
        "στάλθηκε",
        Field::Date,
        "Greek",
        "Από:/Στάλθηκε:/Προς:/Θέμα:",
    ),
    (
        "ημερομηνία",
        Field::Date,
        "Greek",
        "Από:/Ημερομηνία:/Προς:/Θέμα:",
    ),
    ("προς", Field::To, "", ""),
    ("κοιν.", Field::To, "", ""),
    ("θέμα", Field::Subject, "", ""),
    ("差出人", Field::From, "Japanese", ""),
    (
        "送信日時",
        Field::Date,
        "Japanese",
        "差出人:/送信日時:/宛先:/件名:",
    ),
    ("日付", Field::Date, "Japanese", "差出人:/日付:/宛先:/件名:"),
    ("宛先", Field::To, "", ""),
    ("件名", Field::Subject, "", ""),
    ("发件人", Field::From, "Chinese", ""),
    (
        "发送时间",
        Field::Date,
        "Chinese",
        "发件人:/发送时间:/收件人:/主题:",
    ),
    (
        "日期",
        Field::Date,
        "Chinese",
        "发件人:/日期:/收件人:/主题:",
    ),
    ("收件人", Field::To, "", ""),
    ("抄送", Field::To, "", ""),
    ("主题", Field::Subject, "", ""),
    ("寄件者", Field::From, "Chinese (Traditional)", ""),
    (
        "寄件日期",
        Field::Date,
        "Chinese (Traditional)",
        "寄件者:/寄件日期:/收件者:/主旨:",
    ),
    ("收件者", Field::To, "", ""),
    ("副本", Field::To, "", ""),
    ("主旨", Field::Subject, "", ""),
    ("보낸 사람", Field::From, "Korean", ""),
    (
        "보낸 날짜",
        Field::Date,
        "Korean",
        "보낸 사람:/보낸 날짜:/받는 사람:/제목:",
    ),
    ("받는 사람", Field::To, "", ""),
    ("참조", Field::To, "", ""),
    ("제목", Field::Subject, "", ""),
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
        .trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    // No field name holds an address: most lines with a colon early
    // ("Carol <c@x> wrote:") end here, before the lowercase copy.
    if name.contains(['<', '@', '>', '/']) {
        return None;
    }
    let name = name.to_lowercase();
    let value = l.get(colon + c.len_utf8()..)?.trim_matches('*').trim();
    let &(_, field, language, pattern) = FIELDS.iter().find(|f| f.0 == name)?;
    if matches!(field, Field::From | Field::Date) && value.is_empty() {
        return None;
    }
    Some((field, language, pattern))
}

/// An Outlook header block (or the separator line above one) at `i`: a
/// `From:` line followed by a date and a `To:` or `Subject:` line, or the
/// same fields with the date first (GMX and Web.de write `Gesendet:`
/// above `Von:`). Returns the language and shape of the block.
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
    let (first, first_language, first_pattern) = header_field(lines[i])?;
    let (mut from, mut date) = match first {
        Field::From => (Some(first_language), None),
        Field::Date => (None, Some((first_language, first_pattern))),
        _ => return None,
    };
    let mut addressed = false;
    let mut continuation = 0;
    for line in lines.iter().take(n).skip(i + 1).take(HEADER_LOOKAHEAD) {
        if is_blank(line) {
            break;
        }
        match header_field(line) {
            Some((Field::Date, language, pattern)) if date.is_none() => {
                date = Some((language, pattern))
            }
            Some((Field::To | Field::Subject, ..)) => addressed = true,
            Some((Field::From, language, _)) if from.is_none() => from = Some(language),
            Some((Field::From | Field::Date, ..)) => break,
            None => {
                // A long To: list wraps onto a line or two.
                continuation += 1;
                if continuation > 2 {
                    break;
                }
            }
        }
    }
    let from_language = from.filter(|_| addressed)?;
    let (language, pattern) = date?;
    let pattern = if first == Field::Date {
        "date first, as GMX and Web.de write it: Gesendet:/Von:/An:/Betreff:"
    } else {
        pattern
    };
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
    r"ursprüngliche mail|message d'origine|message original|mail original|mensaje original|",
    r"messaggio originale|oorspronkelijk bericht|origineel bericht|mensagem original|",
    r"wiadomość oryginalna|oryginalna wiadomość|originalmeddelande|",
    r"ursprungligt meddelande|oprindelig meddelelse|opprinnelig melding|",
    r"alkuperäinen viesti|původní zpráva|původní e-mail|eredeti üzenet|eredeti levél|",
    r"özgün (?:ileti|İleti)|orijinal mesaj|αρχικό μήνυμα|исходное сообщение|",
    r"原始邮件|原始郵件|元のメッセージ|원본 메시지)\s*-{3,}$"
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
    // The colon-ended markers start with one of these letters.
    let shaped = ((p.ends_with(':') || p.ends_with('：'))
        && p.starts_with(|c: char| "bBaAdDiI転".contains(c)))
        || (p.len() > 10 && p.starts_with("--") && p.ends_with("--"));
    shaped && p.len() < 80 && regex(&RE, FORWARD).is_some_and(|re| re.is_match(p))
}

pub(super) const FOOTER: &str = concat!(
    r"(?i)^(?:sent from my\s.{2,40}",
    r"|sent from (?:outlook|mail|yahoo mail|proton ?mail|samsung mobile|my mobile)",
    r"(?:\s(?:for|on)\s(?:ios|android|iphone|ipad|windows(?:\s1[01])?))?",
    r"|sent from (?:the )?.{2,30}\s(?:app|for mobile|(?:for|on) (?:ios|android|iphone|ipad))",
    r"|get outlook for (?:ios|android)",
    r"|sent (?:via|with) (?:the )?(?:samsung|blackberry|superhuman|proton ?mail|spark).{0,40}",
    r"|von meinem\s.{2,40}\sgesendet",
    r"|gesendet von (?:meinem\s.{2,40}|mail für windows|outlook für (?:ios|android))",
    r"|gesendet mit der\s.{2,40}\sapp",
    r"|outlook für (?:ios|android) (?:beziehen|herunterladen)",
    r"|envoyé (?:de|depuis) mon\s.{2,40}",
    r"|obtenir outlook pour (?:ios|android)",
    r"|enviado desde mi\s.{2,40}",
    r"|obtener outlook para (?:ios|android)",
    r"|enviado d[eo] meu\s.{2,40}",
    r"|(?:baixe o|obter o) outlook para (?:ios|android)",
    r"|inviato da(?:l mio)?\s(?:iphone|ipad|android|samsung|galaxy|huawei|xiaomi|smartphone|",
    r"cellulare|telefono|outlook|libero mail).{0,30}",
    r"|scarica outlook per (?:ios|android)",
    r"|verstuurd vanaf mijn\s.{2,40}|verzonden vanaf mijn\s.{2,40}",
    r"|outlook voor (?:ios|android) downloaden",
    r"|skickat från min\s.{2,40}|sendt fra min\s.{2,40}",
    r"|lähetetty (?:iphonesta|ipadista|android-laitteesta|.{2,30}\s(?:puhelimesta|laitteesta))",
    r"|wysłane z (?:mojego\s|urządzenia\s)?(?:iphone|ipada?|smartfona|telefonu|samsung|galaxy|",
    r"huawei|outlook).{0,30}",
    r"|odesláno z (?:mého\s)?(?:iphonu|ipadu|telefonu|mobilu|androidu|samsungu|galaxy|huawei|outlooku?).{0,20}",
    r"|(?:az\s)?(?:iphone|ipad|android|galaxy|samsung|huawei|mobil).{0,15}(?:ról|ről)\sküldve",
    r"|(?:iphone|ipad|android|galaxy|samsung|huawei|mobil).{0,15}(?:dan|den) gönderildi",
    r"|στάλθηκε από (?:το|τη|την) .{2,30}",
    r"|отправлено (?:с|из)\s.{2,40}",
    r"|发自我的\s?.{2,20}|.{1,20}から送信|.{1,20}에서 보냄)",
    r"\.?$"
);

/// "Sent from my iPhone" and the other lines phones and apps append. A
/// link in angle brackets (Outlook's "Get Outlook for iOS<https://…>",
/// anywhere in the line) is not part of the words.
pub(super) fn is_mobile_footer(p: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // No footer ends in a colon or is long: most lines skip the pattern.
    if p.len() > 160 || p.len() < 6 || ends_with_colon(p) {
        return false;
    }
    let unlinked;
    let p = if p.contains("<http") {
        unlinked = without_links(p);
        unlinked.as_str()
    } else {
        p
    };
    regex(&RE, FOOTER).is_some_and(|re| re.is_match(p.trim()))
}

/// The line with every `<http…>` link removed.
fn without_links(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(at) = rest.find("<http") {
        out.push_str(&rest[..at]);
        match rest[at..].find('>') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
