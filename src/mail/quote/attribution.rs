//! Attribution lines ("On … wrote:" and its forms in other languages and
//! clients): which line introduces quoted text, in which language and shape.

use super::*;

pub(super) struct AttributionPattern {
    pub(super) re: &'static str,
    pub(super) language: &'static str,
    pub(super) pattern: &'static str,
    /// Anchored on a lead word and a verb: trusted even without a `>` block
    /// below, when the line also has a digit (every date does).
    pub(super) strong: bool,
}

pub(super) const fn ap(
    re: &'static str,
    language: &'static str,
    pattern: &'static str,
    strong: bool,
) -> AttributionPattern {
    AttributionPattern {
        re,
        language,
        pattern,
        strong,
    }
}

/// In priority order: the first that matches names the line.
pub(super) const ATTRIBUTIONS: &[AttributionPattern] = &[
    ap(r"^On\s.+\swrote\s*:$", "English", "On … wrote:", true),
    // Older Apple Mail on iOS: "On 02.11.2026, at 10:00, Carol sent:".
    ap(
        r"^On\s.+,\sat\s.+\ssent\s*:$",
        "English",
        "On …, at …, … sent:",
        true,
    ),
    ap(
        r"^Am\s.+\s(?:schrieb|geschrieben)\b.*:$",
        "German",
        "Am … schrieb …:",
        true,
    ),
    ap(r"^.+\sschrieb\sam\s.+:$", "German", "… schrieb am …:", true),
    ap(r"^Le\s.+\sa\s+écrit\s*:$", "French", "Le … a écrit :", true),
    ap(
        r"^El\s.+\sescribi[óo]\s*:$",
        "Spanish",
        "El … escribió:",
        true,
    ),
    ap(r"^Op\s.+\sschreef\b.*:$", "Dutch", "Op … schreef …:", true),
    ap(
        r"^Op\s.+\shet\s+volgende\s+geschreven\s*:$",
        "Dutch",
        "Op … heeft … het volgende geschreven:",
        true,
    ),
    ap(
        r"^Il\s.+\sha\s+scritto\s*:$",
        "Italian",
        "Il giorno … ha scritto:",
        true,
    ),
    ap(
        r"^(?:Em|A|No\s+dia)\s.+\sescreveu\s*:$",
        "Portuguese",
        "Em … escreveu:",
        true,
    ),
    ap(
        r"^.+\sescreveu\s+no\s+dia\s.+:$",
        "Portuguese",
        "… escreveu no dia …:",
        true,
    ),
    ap(
        r"^W\s+dniu\s.+\s(?:pisze|napisał\(a\)|napisała?)\s*:$",
        "Polish",
        "W dniu … pisze:",
        true,
    ),
    ap(
        r"^Wiadomość\s+napisana\s+przez\s.+:$",
        "Polish",
        "Wiadomość napisana przez … w dniu …:",
        true,
    ),
    ap(
        r"^.+\snapisał(?:\(a\)|a)?\s*:$",
        "Polish",
        "… napisał(a):",
        true,
    ),
    ap(
        r"^.+\snapsal(?:\(a\)|a)?\s*:$",
        "Czech",
        "… napsal(a):",
        true,
    ),
    // Swedish, Danish and Norwegian, with or without the leading "Den".
    ap(r"^.+\sskrev\b.*:$", "Scandinavian", "… skrev …:", true),
    ap(r"^.+\skirjoitti\b.*:$", "Finnish", "… kirjoitti …:", true),
    ap(
        r"^.+\s(?:ezt\s+)?írta\b.*:$",
        "Hungarian",
        "… ezt írta (időpont: …):",
        true,
    ),
    ap(r"^.+\sέγραψε\s*:$", "Greek", "… έγραψε:", true),
    ap(
        r"^.+\syazdı\s*:$",
        "Turkish",
        "… tarihinde şunu yazdı:",
        true,
    ),
    ap(
        r"^.+\s(?:пишет|писал|написал\(а\)|написала?)\b.*:$",
        "Russian",
        "… пишет:",
        true,
    ),
    ap(r"^.+(?:写道|寫道)\s*[:：]$", "Chinese", "… 写道：", true),
    ap(
        r"^.+のメッセージ\s*[:：]$",
        "Japanese",
        "…のメッセージ:",
        true,
    ),
    ap(r"^.+작성\s*[:：]$", "Korean", "…님이 작성:", true),
    ap(
        r"^\d{4}年\d{1,2}月\d{1,2}日.+[:：]$",
        "Japanese",
        "…年…月…日 … <…>:",
        false,
    ),
    ap(r"^.+\swrote\s*:$", "English", "… wrote:", false),
    // Lotus Notes / HCL Notes: "Carol <c@x> wrote on 02/11/2026 10:00:00:".
    ap(r"^.+\swrote\s+on\s.+:$", "Notes", "… wrote on …:", true),
    ap(r"^Quoting\s.+:$", "English", "Quoting …:", false),
    ap(
        r"^.+\s(?:schrieb|a\s+écrit|escribió|schreef|ha\s+scritto|escreveu|pisze|skrev)\s*:$",
        "localized",
        "… wrote:",
        false,
    ),
    // A date and a time, then whose mail it was, and a colon: Gmail in
    // Russian and its older date-first form ("2014-10-17 11:28 GMT+03:00
    // Carol <c@x>:"), Yandex, Mail.ru ("… от Carol <c@x>:"), FairEmail.
    // No verb to anchor on, so only trusted above a quote.
    ap(
        r"^.*\d[:.]\d\d\b.*\s<?[^\s<>]+@[^\s<>]+>\s*[:：]$",
        "date-first",
        "DATE … NAME <ADDRESS>:",
        false,
    ),
];

pub(super) fn attribution_set() -> Option<&'static RegexSet> {
    static SET: OnceLock<Option<RegexSet>> = OnceLock::new();
    SET.get_or_init(|| RegexSet::new(ATTRIBUTIONS.iter().map(|p| p.re)).ok())
        .as_ref()
}

pub(super) struct Attribution {
    /// How many lines it spans (wrapped attributions span more than one).
    pub(super) lines: usize,
    pub(super) strong: bool,
    pub(super) client: &'static str,
    pub(super) pattern: &'static str,
}

/// The attribution line that starts at `window[0]`, wrapped over up to
/// [`MAX_ATTRIBUTION_LINES`] lines.
pub(super) fn attribution(window: &[&str]) -> Option<Attribution> {
    for span in 1..=window.len().min(MAX_ATTRIBUTION_LINES) {
        let line = probe(window[span - 1]);
        // A `>` line ends the attribution, unless it closes an address
        // the lines above opened (Polymail: "… Carol <" / "c@x.test" /
        // "> wrote:").
        if line.is_empty()
            || (span > 1 && line.starts_with('>') && !opens_address(&window[..span - 1]))
        {
            return None;
        }
        // Only a line ending in a colon (or an address) can end an
        // attribution: join the lines (an allocation) only then.
        if !may_end_attribution(line) {
            continue;
        }
        let joined = join(&window[..span])?;
        if let Some((strong, client, pattern)) = match_attribution(&joined) {
            // When a later line starts an attribution that ends here and is
            // as trustworthy, the earlier lines are the author's text above
            // it ("See below." + "Carol wrote:"). A weaker later match is
            // just the tail of this one ("c@x> wrote:" under "On … <").
            if (1..span)
                .any(|j| attribution_within(&window[j..span]).is_some_and(|later| later || !strong))
            {
                return None;
            }
            return Some(Attribution {
                lines: span,
                strong,
                client,
                pattern,
            });
        }
    }
    None
}

/// Whether some leading span of `window` is an attribution, and if so
/// whether it is a strong one.
pub(super) fn attribution_within(window: &[&str]) -> Option<bool> {
    (1..=window.len())
        .filter(|&span| may_end_attribution(probe(window[span - 1])))
        .find_map(|span| match_attribution(&join(&window[..span])?))
        .map(|(strong, ..)| strong)
}

/// Whether the lines leave an angle bracket open, as a wrapped address
/// does.
fn opens_address(lines: &[&str]) -> bool {
    let (open, close) = lines.iter().fold((0usize, 0usize), |(o, c), l| {
        let l = probe(l);
        (
            o + l.bytes().filter(|&b| b == b'<').count(),
            c + l.bytes().filter(|&b| b == b'>').count(),
        )
    });
    open > close
}

/// Lead words of the attributions that can follow the author's answer on
/// the same line ("Thanks! On Wed, Apr 4, 2012 at 3:59 PM, bob@x wrote:").
const LEADS: [&str; 9] = [
    "On ", "Am ", "Le ", "El ", "Op ", "Il ", "Em ", "W dniu ", "Den ",
];

/// Where an attribution starts after the author's words on one line: the
/// byte offset of its lead word, which follows a sentence end. Only strong
/// attributions count; a few candidate positions per line are tried.
pub(super) fn attribution_after_text(line: &str) -> Option<(usize, &'static str, &'static str)> {
    let line = probe(line);
    if line.len() > MAX_ATTRIBUTION || !ends_with_colon(line) {
        return None;
    }
    let mut tried = 0;
    for (at, c) in line.char_indices() {
        if !matches!(c, '.' | '!' | '?' | ')') {
            continue;
        }
        let rest = &line[at + c.len_utf8()..];
        let start = rest.len() - rest.trim_start().len();
        if start == 0 {
            continue;
        }
        let rest = rest.trim_start();
        if !LEADS.iter().any(|l| rest.starts_with(l)) {
            continue;
        }
        tried += 1;
        if tried > 4 {
            return None;
        }
        if let Some((true, client, pattern)) = match_attribution(rest) {
            return Some((line.len() - rest.len(), client, pattern));
        }
    }
    None
}

/// Gmail's oldest form, without a colon: "2011/3/1 Carol <c@x.test>" (or
/// with a dash-separated date and a time). Only trusted above a quote.
pub(super) const DATE_ADDRESS: &str =
    r"^\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b[^<>]{0,80}\s<[^\s<>]+@[^\s<>]+>$";

/// Whether a line can be the last of an attribution: a colon ends all but
/// the oldest Gmail form, which ends with the address.
pub(super) fn may_end_attribution(line: &str) -> bool {
    ends_with_colon(line) || line.ends_with('>')
}

pub(super) fn ends_with_colon(line: &str) -> bool {
    line.ends_with(':') || line.ends_with('：')
}

/// Wrapped lines joined with a space, unless too long to be an attribution.
pub(super) fn join(lines: &[&str]) -> Option<String> {
    let mut joined = String::new();
    for line in lines {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(probe(line));
        if joined.len() > MAX_ATTRIBUTION {
            return None;
        }
    }
    Some(joined)
}

/// `(strong, client, pattern)` when `line` is an attribution line.
pub(super) fn match_attribution(line: &str) -> Option<(bool, &'static str, &'static str)> {
    // Yahoo's classic "--- On Mon, 11/2/26, Carol <c@x> wrote:".
    let line = match line.trim().strip_prefix("--") {
        Some(rest) => rest.trim_start_matches('-').trim_start(),
        None => line.trim(),
    };
    if line.len() > MAX_ATTRIBUTION {
        return None;
    }
    if !ends_with_colon(line) {
        static RE: OnceLock<Option<Regex>> = OnceLock::new();
        return (line.ends_with('>')
            && regex(&RE, DATE_ADDRESS).is_some_and(|re| re.is_match(line)))
        .then_some((false, "date-first", "YYYY/MM/DD NAME <ADDRESS>"));
    }
    let dated = line.bytes().any(|b| b.is_ascii_digit());
    let set = attribution_set()?;
    let p = set.matches(line).into_iter().next()?;
    let p = ATTRIBUTIONS.get(p)?;
    let client = if p.language == "English" && p.strong {
        english_client(line)
    } else {
        p.language
    };
    Some((p.strong && dated, client, p.pattern))
}

/// A guess at the client from the shape of an English attribution; only
/// used to explain a cut.
pub(super) fn english_client(line: &str) -> &'static str {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const LONG_DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let rest = line.strip_prefix("On ").unwrap_or(line);
    if line.contains(", at ") {
        "Apple Mail"
    } else if LONG_DAYS.iter().any(|d| rest.starts_with(d)) {
        "Yahoo Mail"
    } else if DAYS.iter().any(|d| rest.starts_with(&format!("{d}, "))) && line.contains(" at ") {
        "Gmail"
    } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
        "Thunderbird"
    } else {
        "mail client"
    }
}
