//! The files a message carries, as parts to attach to another mail: an
//! agent's answer is relayed to the customer with the agent's files.

use mail_parser::MimeHeaders;

use super::build::Part;
use super::limits::{self, Limits};

/// The attachments of a raw message (at most 50), with safe file names.
/// Mail that cannot be read gives none: the answer still goes out.
pub fn parts(raw: &[u8], limits: &Limits) -> Vec<Part> {
    let Some(bytes) = limits::view(raw, limits) else {
        return Vec::new();
    };
    let Some(m) = mail_parser::MessageParser::default().parse(&bytes[..]) else {
        return Vec::new();
    };
    m.attachments()
        .take(50)
        .filter_map(|p| {
            let name = super::filename::sanitize(p.attachment_name()?);
            let content_type = p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            Some(Part {
                name,
                content_type,
                bytes: p.contents().to_vec(),
            })
        })
        .collect()
}
