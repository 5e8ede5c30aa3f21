//! How `messages.raw` holds a message's mail (schema V6, V8), and
//! `outbox.body` an outgoing mail or its plan (schema V8): packed by
//! postdesk (the row's `packed` true) or as it came (rows written before,
//! `packed` false). Every writer of those columns packs; every reader goes
//! through [`unpack`] with the row's flag, never by looking at the bytes
//! (hostile mail may start with zstd's magic number).
//!
//! Packed is a zstd frame made by a codec: for messages the store's, with
//! the desk's current mail dictionary (V8, `src/pg/engine/dictionaries.rs`)
//! or without one (rows written before a dictionary was trained, by a move
//! or a restore, or before V8); for the outbox always without one
//! ([`plain`]: its rows live briefly, and an erasure's re-pack need not
//! visit them). The frame names its dictionary, so reading needs only the
//! codec; `messages.dict` repeats the name for queries ([`dict_of`]).
//! Backups and moves carry raw mail as before.

use crate::store::codec::{Codec, CodecError};

/// The codec without a dictionary: the outbox's, and rows a move or a
/// restore writes.
pub fn plain() -> std::sync::Arc<Codec> {
    crate::store::codec::plain()
}

/// The mail as `raw` takes it with `packed = true`, and the dictionary it
/// was packed with (`messages.dict`).
pub fn pack(codec: &Codec, mail: &[u8]) -> (Vec<u8>, Option<i64>) {
    let packed = codec.pack_mail(mail);
    let dict = dict_of(&packed);
    (packed, dict)
}

/// The dictionary a value packed by [`Codec::pack_mail`] names, as the
/// `messages.dict` column holds it. Only for bytes postdesk packed: mail
/// as received may look like anything.
pub fn dict_of(packed: &[u8]) -> Option<i64> {
    if !packed.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return None;
    }
    zstd::zstd_safe::get_dict_id_from_frame(packed).map(|id| i64::from(id.get()))
}

/// The mail a row's `raw` holds, as received.
pub fn unpack(codec: &Codec, raw: Vec<u8>, packed: bool) -> Result<Vec<u8>, CodecError> {
    if packed {
        codec.unpack_mail(&raw)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec;

    fn sample(i: usize) -> Vec<u8> {
        format!(
            "From: Person {i} <p{i}@example.test>\r\nTo: help@desk.test\r\nSubject: Invoice {i}\r\n\r\nHello, invoice {i} is wrong, the amount should be {} EUR.\r\nRegards\r\n",
            i * 7
        )
        .into_bytes()
    }

    #[test]
    fn packed_mail_round_trips_and_unpacked_rows_read_as_they_are() {
        let plain = Codec::default();
        let mail =
            b"From: a@b.test\r\nSubject: hi\r\n\r\nhello hello hello hello hello\r\n".repeat(20);
        let (packed, dict) = pack(&plain, &mail);
        assert_eq!(dict, None);
        assert!(packed.len() < mail.len() / 4, "{}", packed.len());
        assert_eq!(unpack(&plain, packed, true).unwrap(), mail);
        assert_eq!(unpack(&plain, pack(&plain, b"").0, true).unwrap(), b"");
        // Mail that starts like a zstd frame, stored before V6, is mail.
        let hostile = [0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2, 3].to_vec();
        assert_eq!(unpack(&plain, hostile.clone(), false).unwrap(), hostile);
    }

    #[test]
    fn a_row_packed_with_a_dictionary_names_it_and_needs_it() {
        let samples: Vec<Vec<u8>> = (0..2000).map(sample).collect();
        let (id, dict) = codec::train(&samples).expect("enough to train on");
        let trained = Codec::new(&[(id, dict)], Some(id));
        let (packed, named) = pack(&trained, &sample(9999));
        assert_eq!(named, Some(i64::from(id)));
        assert!(packed.len() < pack(&Codec::default(), &sample(9999)).0.len());
        assert_eq!(
            unpack(&trained, packed.clone(), true).unwrap(),
            sample(9999)
        );
        assert!(matches!(
            unpack(&Codec::default(), packed, true),
            Err(CodecError::MissingDictionary(i)) if i == id
        ));
        // Older rows keep reading with the new codec.
        let (old, _) = pack(&Codec::default(), &sample(1));
        assert_eq!(unpack(&trained, old, true).unwrap(), sample(1));
    }

    #[test]
    fn damaged_packed_mail_is_an_error() {
        let plain = Codec::default();
        let (mut packed, _) = pack(&plain, &b"some mail text ".repeat(100));
        packed.truncate(packed.len() / 2);
        assert!(unpack(&plain, packed, true).is_err());
    }
}
