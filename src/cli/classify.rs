//! `postdesk classify`: would postdesk treat this mail as automatic (and
//! so never answer it), and why. The admin's answer to "why was this not
//! answered?" and "why did the desk answer a bounce?", with what a
//! delivery report says of each recipient. Reads the mail only: no
//! configuration, no store.

use super::*;

/// Prints the verdict; exits 0 for mail (automatic or not), EX_DATAERR
/// when the input is not mail at all (intake would quarantine it).
pub(super) fn classify(file: Option<&std::path::Path>, json: bool) -> Result<u8> {
    let raw = check::read_input(file)?;
    let msg = match crate::mail::parse::parse(&raw) {
        Ok(m) => m,
        Err(e) => {
            if json {
                let v =
                    serde_json::json!({ "mail": false, "automatic": null, "error": e.to_string() });
                println!("{}", safe::json(serde_json::to_string_pretty(&v)?));
            } else {
                println!("not mail: {}", safe::line(&e.to_string()));
                println!("intake would quarantine it: it is never answered");
            }
            return Ok(EX_DATAERR);
        }
    };
    let automatic = crate::guard::automatic(&msg);
    // Intake reads a plain-text report only from mail the guard found
    // automatic; a standard one always.
    let report = crate::bounce::parse(&raw).filter(|r| r.standard || automatic.is_some());
    if json {
        let bounce = report.as_ref().map(|r| {
            serde_json::json!({
                "standard": r.standard,
                "original_message_id": r.original_message_id,
                "recipients": r.recipients,
            })
        });
        let v = serde_json::json!({
            "mail": true,
            "automatic": automatic.is_some(),
            "kind": automatic.as_ref().map(|a| a.kind),
            "reason": automatic.as_ref().map(|a| a.reason.as_str()),
            "bounce": bounce,
        });
        println!("{}", safe::json(serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    match &automatic {
        Some(a) => {
            println!("automatic: yes ({})", a.kind.as_str());
            println!("why: {}", safe::line(&a.reason));
            println!("postdesk stores it on its ticket and never answers it");
        }
        None => {
            println!("automatic: no");
            println!("why: no sign of automatic mail (headers, sender, subject, report wording)");
            println!("postdesk answers it like any mail from a person (rules and the desk's own addresses aside)");
        }
    }
    if let Some(r) = &report {
        println!();
        println!(
            "delivery report: {}",
            if r.standard {
                "standard (RFC 3464)"
            } else {
                "plain text, read by its wording"
            }
        );
        if let Some(id) = &r.original_message_id {
            println!("returned message: <{}>", safe::line(id));
        }
        if r.recipients.is_empty() {
            println!("no failed recipient named");
        }
        for rc in &r.recipients {
            println!(
                "  {}  {}  {}",
                safe::line(&rc.address),
                safe::line(rc.status.as_deref().unwrap_or("-")),
                rc.severity.as_str()
            );
            if let Some(d) = &rc.diagnostic {
                println!("    {}", safe::line(d));
            }
        }
    }
    Ok(0)
}
