//! Signed ticket tokens in plus addresses: `support+ACME-42.k3f9x2ab1c@desk`.
//!
//! The token is the strongest threading signal because the desk itself wrote
//! it: a customer who replies to our mail sends to it without knowing. The
//! HMAC keeps strangers from guessing a valid address for someone else's
//! ticket; the secret is generated on first run and never leaves the state
//! directory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Hex digits of MAC in an address: 40 bits, enough that guessing is
/// hopeless by mail, short enough to survive line-length-limited clients.
const MAC_HEX: usize = 10;
pub const SECRET_FILE: &str = "secret";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the token secret {path}: {source}\n  hint: the state directory must be readable by the postdesk user")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the token secret {path}: {source}\n  hint: check that the state directory exists and is writable")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("the token secret {path} is damaged (expected 64 hex digits)\n  hint: restore it from backup; a new one invalidates every reply address already sent")]
    Damaged { path: String },
    #[error("the system random source failed: {0}")]
    Random(String),
}

/// Signs and verifies ticket tokens. Cheap to clone.
#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<secret>)")
    }
}

impl Signer {
    pub fn from_key(key: [u8; 32]) -> Signer {
        Signer { key }
    }

    /// A new random secret, written as it is stored (64 hex digits).
    pub fn new_secret() -> Result<String, TokenError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(to_hex(&key))
    }

    /// The signer of a stored secret; `from` says where it was kept, for
    /// the error if it is damaged. A shared store (PostgreSQL) keeps the
    /// secret in the database, so that a reply address one node signed is
    /// accepted by every other.
    pub fn from_secret(text: &str, from: &str) -> Result<Signer, TokenError> {
        parse_secret(text.trim(), from)
    }

    /// Loads the secret from the state directory, creating it (mode 0600) on
    /// first run. Creation uses `create_new` so two processes starting at
    /// once cannot each write a different secret.
    pub fn load_or_create(state_dir: &Path) -> Result<Signer, TokenError> {
        let path = state_dir.join(SECRET_FILE);
        let shown = path.display().to_string();
        match fs::read_to_string(&path) {
            Ok(text) => return parse_secret(text.trim(), &shown),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(TokenError::Read {
                    path: shown,
                    source: e,
                })
            }
            Err(_) => {}
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| TokenError::Random(e.to_string()))?;
        let hex = to_hex(&key);
        let created = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| {
                f.write_all(hex.as_bytes())?;
                f.sync_all()
            });
        match created {
            Ok(()) => Ok(Signer { key }),
            // Someone else won the race: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(&path).map_err(|source| TokenError::Read {
                    path: shown.clone(),
                    source,
                })?;
                parse_secret(text.trim(), &shown)
            }
            Err(source) => Err(TokenError::Create {
                path: shown,
                source,
            }),
        }
    }

    fn mac(&self, purpose: &str, reference: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            // HMAC takes keys of any length; this arm is unreachable.
            Err(_) => return String::new(),
        };
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(reference.to_ascii_uppercase().as_bytes());
        let bytes = mac.finalize().into_bytes();
        to_hex(&bytes)[..MAC_HEX].to_string()
    }

    /// The pseudonym an erased person's address becomes: stable, so a
    /// second request and the reports agree; keyed, so nobody without the
    /// desk's secret can test a guessed address against it.
    pub fn pseudonym(&self, address: &str) -> String {
        format!(
            "erased-{}@{}",
            self.mac("erased", address.trim()),
            crate::privacy::PSEUDONYM_DOMAIN
        )
    }

    /// The token for a ticket reference: `ACME-42.k3f9x2ab1c`.
    pub fn ticket_token(&self, reference: &str) -> String {
        format!("{reference}.{}", self.mac("ticket", reference))
    }

    /// The reply address for a ticket: `support+ACME-42.k3f9x2ab1c@desk`.
    pub fn reply_address(&self, desk_address: &str, reference: &str) -> String {
        match desk_address.split_once('@') {
            Some((local, domain)) => {
                format!("{local}+{}@{domain}", self.ticket_token(reference))
            }
            None => desk_address.to_string(),
        }
    }

    /// A short, stable tag for an agent in addresses: the agent's address is
    /// not spelled out in mail that may be forwarded.
    pub fn agent_tag(agent_email: &str) -> String {
        use sha2::Digest;
        let d = Sha256::digest(agent_email.trim().to_ascii_lowercase().as_bytes());
        to_hex(&d[..4])
    }

    /// The Reply-To of a notification to one agent:
    /// `support+ACME-42.a1b2c3d4e.k3f9x2ab1c@desk` (`a` answers, `n` notes).
    /// It proves both the ticket and the agent, so a reply to it can be
    /// trusted as that agent's.
    pub fn agent_address(
        &self,
        desk_address: &str,
        reference: &str,
        agent_email: &str,
        note: bool,
    ) -> String {
        let kind = if note { "n" } else { "a" };
        let who = format!("{kind}{}", Self::agent_tag(agent_email));
        let mac = self.mac(
            "agent",
            &format!("{}.{who}", reference.to_ascii_uppercase()),
        );
        match desk_address.split_once('@') {
            Some((local, domain)) => format!("{local}+{reference}.{who}.{mac}@{domain}"),
            None => desk_address.to_string(),
        }
    }

    /// If `address` is an agent address of ours with a valid MAC: the
    /// ticket number, the agent tag and whether it is the note address.
    pub fn verify_agent_address(
        &self,
        own: &[String],
        prefix: &str,
        address: &str,
    ) -> Option<(u64, String, bool)> {
        let token = plus_token(own, address)?;
        let token = token.as_str();
        let mut parts = token.split('.');
        let (reference, who, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || who.len() != 9 {
            return None;
        }
        let note = match who.as_bytes().first()? {
            b'a' => false,
            b'n' => true,
            _ => return None,
        };
        let number = crate::ticket::parse_reference(prefix, reference)?;
        let canonical = crate::ticket::reference(prefix, number);
        let expected = self.mac(
            "agent",
            &format!("{}.{who}", canonical.to_ascii_uppercase()),
        );
        constant_time_eq(expected.as_bytes(), mac.as_bytes())
            .then(|| (number, who[1..].to_string(), note))
    }

    /// The address of one survey rating: `support+ACME-42.s4.MAC@desk`. A
    /// `mailto:` to it is a one-click answer; the MAC keeps anyone but the
    /// survey's reader from rating someone else's ticket.
    pub fn survey_address(&self, desk_address: &str, reference: &str, score: u32) -> String {
        let who = format!("s{score}");
        let mac = self.mac(
            "survey",
            &format!("{}.{who}", reference.to_ascii_uppercase()),
        );
        match desk_address.split_once('@') {
            Some((local, domain)) => format!("{local}+{reference}.{who}.{mac}@{domain}"),
            None => desk_address.to_string(),
        }
    }

    /// The ticket and score a survey address names, if it is valid.
    pub fn verify_survey_address(
        &self,
        own: &[String],
        prefix: &str,
        address: &str,
    ) -> Option<(u64, u32)> {
        let token = plus_token(own, address)?;
        let token = token.as_str();
        let mut parts = token.split('.');
        let (reference, who, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let score: u32 = who.strip_prefix('s')?.parse().ok()?;
        let number = crate::ticket::parse_reference(prefix, reference)?;
        let canonical = crate::ticket::reference(prefix, number);
        let expected = self.mac(
            "survey",
            &format!("{}.{who}", canonical.to_ascii_uppercase()),
        );
        constant_time_eq(expected.as_bytes(), mac.as_bytes()).then_some((number, score))
    }

    /// The envelope sender for outbox entry `id`:
    /// `support+bounce.1f.k3f9x2ab1c@desk`. Bounces come back to it, and the
    /// signed id leads to the entry, hence to the ticket and recipient
    /// (VERP). Signed so a forged "bounce" cannot silence a customer.
    pub fn bounce_address(&self, desk_address: &str, id: u64) -> String {
        let token = format!("{id:x}");
        match desk_address.split_once('@') {
            Some((local, domain)) => {
                format!(
                    "{local}+bounce.{token}.{}@{domain}",
                    self.mac("bounce", &token)
                )
            }
            None => desk_address.to_string(),
        }
    }

    /// The outbox entry id a bounce address names, if it is ours and valid.
    pub fn verify_bounce(&self, own: &[String], address: &str) -> Option<u64> {
        let token = plus_token(own, address)?;
        let token = token.as_str();
        let rest = token.strip_prefix("bounce.")?;
        let (id, mac) = rest.split_once('.')?;
        let expected = self.mac("bounce", id);
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return None;
        }
        u64::from_str_radix(id, 16).ok()
    }

    /// If `address` is one of the desk's addresses with a valid ticket token,
    /// the ticket number it names. Case-insensitive: MTAs and clients
    /// lowercase addresses freely.
    pub fn verify_address(&self, own: &[String], prefix: &str, address: &str) -> Option<u64> {
        let token = plus_token(own, address)?;
        let token = token.as_str();
        let (reference, mac) = token.rsplit_once('.')?;
        let number = crate::ticket::parse_reference(prefix, reference)?;
        // Only `PREFIX-N` forms are tokens; a bare number is not.
        if !reference.contains('-') {
            return None;
        }
        let expected = self.mac("ticket", &crate::ticket::reference(prefix, number));
        constant_time_eq(expected.as_bytes(), mac.as_bytes()).then_some(number)
    }
}

/// The `+token` of `address` when it is one of the desk's own addresses
/// (lowercased: MTAs and clients change case freely), else `None`.
fn plus_token(own: &[String], address: &str) -> Option<String> {
    let address = address.trim().to_ascii_lowercase();
    let (local, domain) = address.rsplit_once('@')?;
    let (base, token) = local.split_once('+')?;
    own.iter()
        .any(|o| {
            o.rsplit_once('@')
                .is_some_and(|(ol, od)| ol == base && od == domain)
        })
        .then(|| token.to_string())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_secret(text: &str, path: &str) -> Result<Signer, TokenError> {
    let damaged = || TokenError::Damaged {
        path: path.to_string(),
    };
    if text.len() != 64 {
        return Err(damaged());
    }
    let mut key = [0u8; 32];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).map_err(|_| damaged())?;
        key[i] = u8::from_str_radix(s, 16).map_err(|_| damaged())?;
    }
    Ok(Signer { key })
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> Vec<String> {
        vec!["support@desk.test".to_string()]
    }

    #[test]
    fn token_round_trip_and_case_insensitivity() {
        let s = Signer::from_key([7; 32]);
        let addr = s.reply_address("support@desk.test", "ACME-42");
        assert!(addr.starts_with("support+ACME-42."));
        assert_eq!(s.verify_address(&own(), "ACME", &addr), Some(42));
        assert_eq!(
            s.verify_address(&own(), "ACME", &addr.to_ascii_uppercase()),
            Some(42)
        );
    }

    #[test]
    fn forged_or_foreign_tokens_fail() {
        let s = Signer::from_key([7; 32]);
        let other = Signer::from_key([8; 32]);
        let forged = other.reply_address("support@desk.test", "ACME-42");
        assert_eq!(s.verify_address(&own(), "ACME", &forged), None);
        let moved = s
            .reply_address("support@desk.test", "ACME-42")
            .replace("ACME-42", "ACME-43");
        assert_eq!(s.verify_address(&own(), "ACME", &moved), None);
        let elsewhere = s
            .reply_address("support@desk.test", "ACME-42")
            .replace("desk.test", "evil.test");
        assert_eq!(s.verify_address(&own(), "ACME", &elsewhere), None);
        assert_eq!(s.verify_address(&own(), "ACME", "support@desk.test"), None);
    }

    #[test]
    fn bounce_addresses_round_trip_and_resist_forgery() {
        let s = Signer::from_key([7; 32]);
        let a = s.bounce_address("support@desk.test", 0x1f);
        assert!(a.starts_with("support+bounce.1f."), "{a}");
        assert_eq!(s.verify_bounce(&own(), &a), Some(0x1f));
        assert_eq!(s.verify_bounce(&own(), &a.replace("1f", "20")), None);
        // A ticket token is not a bounce token and the other way round.
        assert_eq!(s.verify_address(&own(), "ACME", &a), None);
    }

    #[test]
    fn agent_addresses_bind_ticket_and_agent() {
        let s = Signer::from_key([7; 32]);
        let a = s.agent_address("support@desk.test", "ACME-42", "Alice@desk.test", false);
        let (n, tag, note) = s.verify_agent_address(&own(), "ACME", &a).unwrap();
        assert_eq!((n, note), (42, false));
        assert_eq!(tag, Signer::agent_tag("alice@desk.test"));
        let note_addr = s.agent_address("support@desk.test", "ACME-42", "alice@desk.test", true);
        assert!(
            s.verify_agent_address(&own(), "ACME", &note_addr)
                .unwrap()
                .2
        );
        // Changing the agent or the ticket breaks the MAC.
        let bob = Signer::agent_tag("bob@desk.test");
        let forged = a.replace(&tag, &bob);
        assert_eq!(s.verify_agent_address(&own(), "ACME", &forged), None);
        assert_eq!(
            s.verify_agent_address(&own(), "ACME", &a.replace("ACME-42", "ACME-43")),
            None
        );
        // Agent and customer tokens do not stand in for each other.
        assert_eq!(s.verify_address(&own(), "ACME", &a), None);
        let customer = s.reply_address("support@desk.test", "ACME-42");
        assert_eq!(s.verify_agent_address(&own(), "ACME", &customer), None);
    }

    #[test]
    fn survey_addresses_carry_a_signed_score() {
        let s = Signer::from_key([7; 32]);
        let a = s.survey_address("support@desk.test", "ACME-42", 4);
        assert_eq!(s.verify_survey_address(&own(), "ACME", &a), Some((42, 4)));
        assert_eq!(
            s.verify_survey_address(&own(), "ACME", &a.replace(".s4.", ".s5.")),
            None
        );
        assert_eq!(s.verify_address(&own(), "ACME", &a), None);
    }

    #[test]
    fn secret_is_created_once_with_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = Signer::load_or_create(dir.path()).unwrap();
        let b = Signer::load_or_create(dir.path()).unwrap();
        assert_eq!(a.key, b.key);
        let mode = fs::metadata(dir.path().join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
