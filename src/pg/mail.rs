//! How `messages.raw` holds a message's mail (schema V6), and
//! `outbox.body` an outgoing mail or its plan (schema V7): packed by
//! postdesk ([`pack`], the row's `packed` true) or as it came (rows
//! written before, `packed` false). Every writer of those columns packs;
//! every reader goes through [`unpack`] with the row's flag, never by
//! looking at the bytes (hostile mail may start with zstd's magic number).
//!
//! Packed is a zstd frame made by the store's codec without a dictionary
//! ([`codec::plain`]): PostgreSQL never trains or needs one, so any node
//! reads any row, and a backup or move carries raw mail as before.

use crate::store::codec::{self, CodecError};

/// The mail as `raw` takes it with `packed = true`.
pub fn pack(mail: &[u8]) -> Vec<u8> {
    codec::plain().pack_mail(mail)
}

/// The mail a row's `raw` holds, as received.
pub fn unpack(raw: Vec<u8>, packed: bool) -> Result<Vec<u8>, CodecError> {
    if packed {
        codec::plain().unpack_mail(&raw)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_mail_round_trips_and_unpacked_rows_read_as_they_are() {
        let mail =
            b"From: a@b.test\r\nSubject: hi\r\n\r\nhello hello hello hello hello\r\n".repeat(20);
        let packed = pack(&mail);
        assert!(packed.len() < mail.len() / 4, "{}", packed.len());
        assert_eq!(unpack(packed, true).unwrap(), mail);
        assert_eq!(unpack(pack(b""), true).unwrap(), b"");
        // Mail that starts like a zstd frame, stored before V6, is mail.
        let hostile = [0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2, 3].to_vec();
        assert_eq!(unpack(hostile.clone(), false).unwrap(), hostile);
    }

    #[test]
    fn damaged_packed_mail_is_an_error() {
        let mut packed = pack(&b"some mail text ".repeat(100));
        packed.truncate(packed.len() / 2);
        assert!(unpack(packed, true).is_err());
    }
}
