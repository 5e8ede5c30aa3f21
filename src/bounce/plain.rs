//! Reading plain-text delivery reports: those with no RFC 3464 part, as
//! qmail, old Sendmail and Postfix, Exim, Exchange, Domino, GroupWise,
//! James, carrier gateways and many webmails still send. They name the
//! failed recipient near the words of the refusal, and usually an SMTP or
//! enhanced status code; when they give no enhanced code, one is guessed
//! from the SMTP code and the words ("550 … user unknown" is 5.1.1, "452
//! mailbox full" 4.2.2), so hard and soft are told apart as for standard
//! reports.

use std::sync::LazyLock;

use regex::Regex;

use super::{
    classify, shorten, Recipient, Severity, ADDRESS, DELAY_WORDS, ENHANCED, PERMANENT_WORDS,
};

/// Where a plain-text bounce's own words end and the returned mail (or
/// its details) begins.
static RETURNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?im)^\s*(?:-+ ?(?:this is a copy|below this line|original message|the original message|",
        r"returned message|undelivered message|message headers follow)|",
        r"---+ ?(?:original|forwarded) message|return-path:|received: from|",
        r"original message headers:|original message follows|original message information:|",
        r"message details:|-+ ?original message follows)"
    ))
    .expect("returned-message pattern is valid")
});

/// A basic SMTP reply code of a failure, standing alone.
static SMTP_FAILURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s#(\[<'":])([45])\d\d(?:[\s\-:;,.]|$)"#)
        .expect("smtp code pattern is valid")
});

static QUOTA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:mailbox (?:is )?full|over (?:the allowed )?quota|quota exceeded|",
        r"exceeded (?:the|its|his|her) (?:mailbox )?(?:size|storage|quota)|mailbox size limit|",
        r"insufficient (?:system )?storage|out of storage|mailfolder is over|mailbox is over)"
    ))
    .expect("quota pattern is valid")
});
static BAD_DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:host or domain name not found|host not found|domain not found|no such domain|",
        r"couldn't find any host|could not find any host|",
        r"domain (?:name )?(?:\(\S+\) )?(?:does not|doesn't) (?:appear to be registered|exist)|",
        r"non-?existent (?:host|domain)|unrouteable (?:mail )?domain|no mx record|name service error)"
    ))
    .expect("domain pattern is valid")
});
static UNKNOWN_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:user unknown|unknown user|no such user|unknown (?:recipient|subscriber|address|local.part)|",
        r"no mailbox here|no such (?:mailbox|recipient|account|person)|",
        r"(?:mailbox|account|address|user|recipient) (?:does not|doesn't|did not) exist|",
        r"does not exist|doesn't exist|not listed in|(?:user|recipient|address|mailbox) not found|",
        r"recipnotfound|recipientnotfound|(?:doesn't|does not) have an? \S+ account|",
        r"invalid (?:recipient|address|mailbox|user)|address (?:you entered )?(?:couldn't|could not) be found|",
        r"(?:address|addresses|recipient|recipients|user|users)(?: were| was| is)? unknown|wasn't found at|",
        r"account (?:has been )?(?:disabled|closed|deactivated))"
    ))
    .expect("unknown-user pattern is valid")
});
static TIMEOUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:timed out|connection refused|no route to host)")
        .expect("timeout pattern is valid")
});
/// Lines that name the sender of the returned mail, not a recipient.
static SENDER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:mail from|from:|sender:|reply-to:|return-path:|please reply to|",
        r"x-postfix-sender|envelope-from|original-mail-from)"
    ))
    .expect("sender-line pattern is valid")
});

/// How many lines after an address still speak of it.
const CONTEXT_LINES: usize = 8;
/// A report says what failed in its first few kilobytes; a hostile one
/// with a megabyte of addresses must not cost more than this.
const MAX_REPORT_BYTES: usize = 64 * 1024;
const MAX_MENTIONS: usize = 500;

/// At most `max` bytes of `text`, cut at a character boundary.
fn head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What a plain-text report says of its recipients.
pub(super) struct Plain<'a> {
    /// The report's own sender: never a recipient.
    pub reporter: &'a str,
    /// The report's own recipients (the sender of the returned mail):
    /// never a failed recipient.
    pub exclude: &'a [String],
    /// `X-Failed-Recipients`, when the report has it: then only these.
    pub failed: &'a [String],
}

impl Plain<'_> {
    /// Candidate recipients: the addresses in the report's own words (not
    /// in the returned mail below them), each with what the words near it
    /// say.
    pub fn recipients(&self, text: &str) -> Vec<Recipient> {
        let text = head(text, MAX_REPORT_BYTES);
        let own_words = match RETURNED.find(text) {
            Some(m) => &text[..m.start()],
            None => text,
        };
        let delayed = DELAY_WORDS.is_match(own_words);
        let permanent = PERMANENT_WORDS.is_match(own_words);
        let lines: Vec<&str> = own_words.lines().collect();
        // Every mention of every candidate, by line.
        let mut mentions: Vec<(String, usize)> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if SENDER_LINE.is_match(line) {
                continue;
            }
            for cap in ADDRESS.captures_iter(line) {
                let address = cap[1].trim_end_matches('.').to_ascii_lowercase();
                if self.candidate(&address) && mentions.len() < MAX_MENTIONS {
                    mentions.push((address, i));
                }
            }
        }
        let mut order: Vec<String> = Vec::new();
        for (a, _) in &mentions {
            if !order.contains(a) {
                order.push(a.clone());
            }
        }
        if !self.failed.is_empty() {
            order.retain(|a| self.failed.contains(a));
            for f in self.failed {
                if !order.contains(f) {
                    order.push(f.clone());
                }
            }
        }
        let single = order.len() == 1;
        let mut out = Vec::new();
        for address in order {
            // The lines after each mention, up to the next other address.
            let contexts: Vec<String> = mentions
                .iter()
                .filter(|(a, _)| *a == address)
                .map(|(_, i)| {
                    let mut end = (*i + CONTEXT_LINES).min(lines.len());
                    if let Some((_, j)) = mentions
                        .iter()
                        .find(|(a, j)| *j > *i && *j < end && *a != address)
                    {
                        end = *j;
                    }
                    lines[*i..end].join(" ")
                })
                .collect();
            let near = contexts.join(" ");
            let status = contexts
                .iter()
                .find_map(|c| find_status(c))
                .or_else(|| single.then(|| find_status(own_words)).flatten())
                .or_else(|| guess_status(&near, permanent, delayed))
                .or_else(|| {
                    single
                        .then(|| guess_status(own_words, permanent, delayed))
                        .flatten()
                });
            let severity = if delayed {
                Severity::Delayed
            } else {
                match status.as_deref() {
                    Some(s) => classify(Some(s), &near),
                    None if permanent => Severity::Hard,
                    None => classify(None, &near),
                }
            };
            // What the server said: the line with the code when there is
            // one, else the words after the address.
            let coded = status.as_deref().and_then(|st| {
                let class = &st[..1];
                near_lines(&mentions, &address, &lines).find(|l| {
                    l.contains(st) || SMTP_FAILURE.captures(l).is_some_and(|c| &c[1] == class)
                })
            });
            let worded = || {
                let said = |l: &&str| {
                    QUOTA.is_match(l)
                        || BAD_DOMAIN.is_match(l)
                        || UNKNOWN_USER.is_match(l)
                        || TIMEOUT.is_match(l)
                };
                near_lines(&mentions, &address, &lines)
                    .find(said)
                    .or_else(|| single.then(|| lines.iter().copied().find(said)).flatten())
            };
            let diagnostic = match coded.or_else(worded) {
                Some(line) => Some(shorten(line.trim())),
                None => contexts
                    .first()
                    .and_then(|c| c.split_once(address.as_str()))
                    .map(|(_, rest)| shorten(rest.trim_start_matches(['>', ':', ')', ' ']))),
            }
            .filter(|d| !d.is_empty());
            out.push(Recipient {
                address,
                severity,
                status,
                diagnostic,
            });
        }
        out
    }

    fn candidate(&self, address: &str) -> bool {
        let local = address.split('@').next().unwrap_or_default();
        address != self.reporter
            && !matches!(local, "postmaster" | "mailer-daemon" | "abuse")
            && !self.exclude.iter().any(|e| e == address)
    }
}

/// The lines near each mention of `address`, in order.
fn near_lines<'a>(
    mentions: &'a [(String, usize)],
    address: &'a str,
    lines: &'a [&'a str],
) -> impl Iterator<Item = &'a str> + 'a {
    mentions
        .iter()
        .filter(move |(a, _)| a == address)
        .flat_map(move |(_, i)| {
            lines[*i..(*i + CONTEXT_LINES).min(lines.len())]
                .iter()
                .copied()
        })
}

/// The first enhanced status code in `text` that is not part of a longer
/// dotted number (an IP address, a version).
pub(super) fn find_status(text: &str) -> Option<String> {
    ENHANCED.find_iter(text).find_map(|m| {
        let before = text[..m.start()].chars().next_back();
        let mut after = text[m.end()..].chars();
        let dotted_after =
            after.next() == Some('.') && after.next().is_some_and(|c| c.is_ascii_digit());
        (before != Some('.') && !dotted_after).then(|| m.as_str().to_string())
    })
}

/// A best-effort enhanced status for a report that gives none: the class
/// from the SMTP code (or, lacking one, from the report's words), the
/// detail from what the words say went wrong.
pub(super) fn guess_status(text: &str, permanent: bool, delayed: bool) -> Option<String> {
    let code = SMTP_FAILURE
        .captures(text)
        .and_then(|c| c[1].chars().next());
    let detail = if QUOTA.is_match(text) {
        Some("2.2")
    } else if BAD_DOMAIN.is_match(text) {
        Some("1.2")
    } else if UNKNOWN_USER.is_match(text) {
        Some("1.1")
    } else if TIMEOUT.is_match(text) {
        Some("4.1")
    } else {
        None
    };
    let class = match (code, detail) {
        (Some(c), _) => c,
        // A full mailbox or an unreachable server is temporary unless a
        // code says otherwise.
        (None, Some("2.2" | "4.1")) => '4',
        (None, Some(_)) if delayed => '4',
        (None, Some(_)) => '5',
        (None, None) if permanent && !delayed => '5',
        (None, None) => return None,
    };
    Some(format!("{class}.{}", detail.unwrap_or("0.0")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_not_parts_of_addresses_or_versions() {
        assert_eq!(
            find_status("host 192.0.2.4 said 550 5.1.1 no"),
            Some("5.1.1".into())
        );
        assert_eq!(find_status("from 10.4.4.2 and 198.51.100.7"), None);
        assert_eq!(find_status("(#5.2.2)"), Some("5.2.2".into()));
        assert_eq!(find_status("'550 5.1.10 RESOLVER'"), Some("5.1.10".into()));
    }

    #[test]
    fn best_effort_statuses() {
        for (text, permanent, delayed, want) in [
            ("550 User unknown", false, false, Some("5.1.1")),
            (
                "554: delivery error: This user doesn't have a yahoo.test account",
                false,
                false,
                Some("5.1.1"),
            ),
            (
                "552: 1 Requested mail action aborted, mailbox full",
                false,
                false,
                Some("5.2.2"),
            ),
            ("452 mailbox full", false, false, Some("4.2.2")),
            ("Mailbox full; quota exceeded", true, false, Some("4.2.2")),
            (
                "550 Requested action not taken: mailbox unavailable",
                false,
                false,
                Some("5.0.0"),
            ),
            ("Unrouteable address", true, false, Some("5.0.0")),
            ("unknown user: \"local\"", false, false, Some("5.1.1")),
            (
                "User x not listed in Domino Directory",
                false,
                false,
                Some("5.1.1"),
            ),
            (
                "Sorry, I couldn't find any host named x.test.",
                true,
                false,
                Some("5.1.2"),
            ),
            (
                "Deferred: Connection timed out with mx.test.",
                false,
                true,
                Some("4.4.1"),
            ),
            (
                "The following destination addresses were unknown",
                false,
                false,
                Some("5.1.1"),
            ),
            (
                "The email address you entered couldn't be found.",
                false,
                false,
                Some("5.1.1"),
            ),
            ("This message hasn't been delivered yet.", false, true, None),
            ("Thanks for writing", false, false, None),
        ] {
            assert_eq!(
                guess_status(text, permanent, delayed).as_deref(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn recipients_skip_senders_and_take_status_from_later_mentions() {
        let text = "Delivery has failed to these recipients or groups:\n\nJane (jane@customer.test)\nThe mailbox is full.\n\nDiagnostic information for administrators:\n\nGenerating server: EXCH\n\njane@customer.test\n#554 5.2.2 mailbox full ##\n\nMAIL FROM: support@desk.test\n";
        let p = Plain {
            reporter: "postmaster@customer.test",
            exclude: &["support+bounce.1@desk.test".to_string()],
            failed: &[],
        };
        let r = p.recipients(text);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].address, "jane@customer.test");
        assert_eq!(r[0].status.as_deref(), Some("5.2.2"));
        assert_eq!(r[0].severity, Severity::Soft);
    }

    #[test]
    fn a_hostile_report_is_read_in_bounded_time() {
        let mut text = String::from("Delivery has failed to these recipients or groups:\n");
        for i in 0..50_000 {
            text.push_str(&format!("user{i}@customer.test 550 5.1.1\n"));
        }
        let p = Plain {
            reporter: "m@x.test",
            exclude: &[],
            failed: &[],
        };
        let r = p.recipients(&text);
        assert!(!r.is_empty() && r.len() <= MAX_MENTIONS);
        assert_eq!(r[0].status.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn failed_recipients_header_decides() {
        let text = "The following addresses failed:\n\n  a@customer.test\n  b@customer.test: 550 5.1.1 unknown\n";
        let p = Plain {
            reporter: "m@x.test",
            exclude: &[],
            failed: &["b@customer.test".to_string()],
        };
        let r = p.recipients(text);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].address, "b@customer.test");
        assert_eq!(r[0].status.as_deref(), Some("5.1.1"));
    }
}
