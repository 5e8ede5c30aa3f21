//! The desk's mail dictionaries in PostgreSQL (schema V8, `mail_dicts`):
//! loading them into this node's codec, storing a newly trained one, and
//! the re-pack that an erasure needs.
//!
//! Every node packs new mail with the dictionary marked `current` and
//! reads any row with the dictionary its frame names. Rules that keep
//! every row readable by every node:
//! - A dictionary is committed before this node packs anything with it
//!   ([`PgEngine::install_dictionary`] loads the codec from the table
//!   after the insert), so a row never names a dictionary the database
//!   lacks.
//! - A node that meets a row naming a dictionary it has not loaded
//!   (another node trained it) reloads the table once and retries
//!   ([`PgEngine::unpack`]); still missing is [`StoreError::Corrupt`].
//! - A dictionary is deleted only while no row names it: the foreign key
//!   `messages.dict` (schema V9) makes the database refuse both the
//!   delete and a row naming a deleted one, which a node that had not
//!   yet loaded the new dictionary could otherwise commit a moment after
//!   the re-pack's check. Refused, that node reopens its store and packs
//!   the batch's mail again ([`crate::pg::engine::PgEngine`]'s `write`).
//!
//! Erasure: a dictionary holds fragments of the mail it was trained from.
//! After an erasure commits, the facade trains a new one from the live
//! mail (or none, if too little is left), makes it current
//! ([`PgEngine::replace_dictionary`]), re-packs every row that names an
//! older one, a batch per transaction, and deletes the older ones.
//! "A re-pack is pending" is not recorded anywhere: it is the state
//! itself (a dictionary that is not current still exists), so a crash
//! midway is finished by the next process that opens the store (see
//! `Store::open_postgres`) or by the next erasure. Re-packing is
//! idempotent, so two processes finishing it at once do no harm.
//!
//! The re-packed rows' old versions (and the deleted dictionaries' rows)
//! stay in the table files as dead tuples, like the rows an erasure
//! rewrites, until the `VACUUM (FULL, ANALYZE)` that follows the re-pack
//! (`Privacy::reclaim`, privacy.rs). An erasure cut short by a crash is
//! answered with an error; running it again finishes the re-pack (at
//! open) and then the rewrite.

use std::sync::Arc;

use super::{failed, PgEngine, Result};
use crate::store::codec::{Codec, CodecError};
use crate::store::StoreError;

/// Rows re-packed per transaction: a batch's locks are held for a few
/// milliseconds and its memory is bounded (at most this many mails).
const RECODE_BATCH: i64 = 200;

/// Rows read per round trip while gathering training samples.
const SAMPLE_PAGE: i64 = 500;

/// Passes over the table before a re-pack is left for later: a node that
/// has not yet noticed the new dictionary may still write rows with an
/// older one (it reloads when it next checks, see
/// [`PgEngine::refresh_dictionaries`]).
const RECODE_PASSES: usize = 3;

/// What a re-pack did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recoded {
    pub rows: u64,
    pub deleted: u64,
    /// Older dictionaries still in the table (still named by some row).
    pub left: u64,
}

/// The codec the table's rows describe: (id, bytes, current).
fn codec_of(rows: &[tokio_postgres::Row]) -> std::result::Result<Codec, tokio_postgres::Error> {
    let mut dicts = Vec::with_capacity(rows.len());
    let mut current = None;
    for row in rows {
        let id: i64 = row.try_get(0)?;
        let dict: Vec<u8> = row.try_get(1)?;
        let is_current: bool = row.try_get(2)?;
        // Ids are zstd's, 32 bits; anything else is not one of ours.
        let Ok(id) = u32::try_from(id) else { continue };
        if is_current {
            current = Some(id);
        }
        dicts.push((id, dict));
    }
    Ok(Codec::new(&dicts, current))
}

const LOAD: &str = "SELECT id, dict, current FROM mail_dicts";

fn corrupt_mail(e: CodecError) -> StoreError {
    StoreError::Corrupt {
        what: "message mail",
        detail: e.to_string(),
    }
}

impl PgEngine {
    /// How mail is packed now.
    pub fn codec(&self) -> Arc<Codec> {
        self.codec.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_codec(&self, codec: Codec) {
        *self.codec.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(codec);
    }

    /// Loads every dictionary in the table into this node's codec.
    pub fn load_codec(&self) -> Result<()> {
        let what = "read mail dictionaries";
        let rows = self.rows(what, LOAD, &[])?;
        self.set_codec(codec_of(&rows).map_err(failed(what))?);
        Ok(())
    }

    /// The mail a row holds (`raw`, `packed`), as received. A dictionary
    /// this node does not know yet is looked for in the table once.
    pub(super) fn unpack(&self, raw: Vec<u8>, packed: bool) -> Result<Vec<u8>> {
        if !packed {
            return Ok(raw);
        }
        match self.codec().unpack_mail(&raw) {
            Err(CodecError::MissingDictionary(_)) => {
                self.load_codec()?;
                self.codec().unpack_mail(&raw).map_err(corrupt_mail)
            }
            other => other.map_err(corrupt_mail),
        }
    }

    /// Reloads the dictionaries when the table's differ from this node's
    /// (another node trained one, or an erasure replaced it): one small
    /// query. Called between batches by live sources.
    pub fn refresh_dictionaries(&self) -> Result<()> {
        let what = "read mail dictionaries";
        let rows = self.rows(
            what,
            "SELECT id FROM mail_dicts WHERE current UNION ALL SELECT -1 \
             WHERE NOT EXISTS (SELECT 1 FROM mail_dicts WHERE current)",
            &[],
        )?;
        let current: Option<i64> = match rows.first() {
            Some(r) => r.try_get(0).map_err(failed(what))?,
            None => None,
        };
        let mine = self.codec().current().map(i64::from).unwrap_or(-1);
        if current.unwrap_or(-1) != mine {
            self.load_codec()?;
        }
        Ok(())
    }

    /// Whether an older dictionary is still in the table: a re-pack after
    /// an erasure is unfinished.
    pub fn recode_pending(&self) -> Result<bool> {
        Ok(self
            .one::<bool>(
                "read mail dictionaries",
                "SELECT EXISTS (SELECT 1 FROM mail_dicts WHERE NOT current)",
                &[],
            )?
            .unwrap_or(false))
    }

    /// The desk's first messages as training samples, each cut to
    /// `sample_bytes`, until `enough(messages, bytes)`.
    /// Remembers how many erasures the desk had before the first row was
    /// read: [`PgEngine::install_dictionary`] stores the dictionary only
    /// if there are still as many (see there).
    pub fn training_samples(
        &self,
        sample_bytes: usize,
        enough: &dyn Fn(usize, usize) -> bool,
    ) -> Result<Vec<Vec<u8>>> {
        let erasures = self
            .one::<i64>("read erasures", "SELECT count(*) FROM erasures", &[])?
            .unwrap_or(0);
        self.sampled_after
            .store(erasures, std::sync::atomic::Ordering::Relaxed);
        let (mut samples, mut bytes) = (Vec::new(), 0usize);
        let (mut ticket, mut seq) = (-1i64, -1i64);
        loop {
            let rows = self.rows(
                "read mail to train a dictionary",
                "SELECT ticket, seq, raw, packed FROM messages WHERE (ticket, seq) > ($1, $2) \
                 ORDER BY ticket, seq LIMIT $3",
                &[&ticket, &seq, &SAMPLE_PAGE],
            )?;
            for row in &rows {
                let what = "read mail to train a dictionary";
                ticket = row.try_get(0).map_err(failed(what))?;
                seq = row.try_get(1).map_err(failed(what))?;
                let raw: Vec<u8> = row.try_get(2).map_err(failed(what))?;
                let packed: bool = row.try_get(3).map_err(failed(what))?;
                // A row that does not decode is left out of the sample.
                if let Ok(mut mail) = self.unpack(raw, packed) {
                    mail.truncate(sample_bytes);
                    bytes += mail.len();
                    samples.push(mail);
                }
                if enough(samples.len(), bytes) {
                    return Ok(samples);
                }
            }
            if (rows.len() as i64) < SAMPLE_PAGE {
                return Ok(samples);
            }
        }
    }

    /// Stores a trained dictionary as the current one, unless another
    /// node stored one first (the first insert wins; this one is then
    /// dropped), and loads the table: from now on this node packs with
    /// whichever is current. Returns whether this one was stored.
    ///
    /// Not stored either when an erasure was written (by any node) since
    /// its samples were read ([`PgEngine::training_samples`]): they may
    /// hold the erased person's mail, and that erasure's own re-pack is
    /// already over or under way. The next attempt trains afresh.
    pub fn install_dictionary(&self, id: u32, dict: &[u8]) -> Result<bool> {
        let erasures = self
            .sampled_after
            .load(std::sync::atomic::Ordering::Relaxed);
        let rows = self.rows(
            "store a mail dictionary",
            "INSERT INTO mail_dicts (id, dict, current) SELECT $1::bigint, $2::bytea, true \
             WHERE (SELECT count(*) FROM erasures) = $3 \
             ON CONFLICT DO NOTHING RETURNING id",
            &[&i64::from(id), &dict, &erasures],
        )?;
        self.load_codec()?;
        Ok(!rows.is_empty())
    }

    /// Makes `new` (or no dictionary) the current one, in one transaction,
    /// and loads the table. The older dictionaries stay, for the rows
    /// packed with them, until [`PgEngine::recode`].
    pub fn replace_dictionary(&self, new: Option<(u32, Vec<u8>)>) -> Result<()> {
        let what = "replace the mail dictionary";
        self.rt.block_on(async {
            let mut client = self.client(what).await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            tx.execute("UPDATE mail_dicts SET current = false WHERE current", &[])
                .await
                .map_err(failed(what))?;
            if let Some((id, dict)) = &new {
                // An id already in the table (zstd's ids are random 32-bit
                // numbers: it should not happen) names older bytes: then
                // new mail is packed without a dictionary.
                tx.execute(
                    "INSERT INTO mail_dicts (id, dict, current) VALUES ($1, $2, true) \
                     ON CONFLICT DO NOTHING",
                    &[&i64::from(*id), dict],
                )
                .await
                .map_err(failed(what))?;
            }
            tx.commit().await.map_err(failed(what))
        })?;
        self.load_codec()
    }

    /// Re-packs every row packed with a dictionary that is not current
    /// with the current codec, then deletes those no row names any more.
    /// One pass over the messages in key order, [`RECODE_BATCH`] rows a
    /// transaction (read `FOR UPDATE`, re-packed, written back), repeated
    /// while rows written meanwhile by a node with an older codec remain,
    /// at most [`RECODE_PASSES`] times.
    pub fn recode(&self) -> Result<Recoded> {
        let what = "re-pack mail";
        let mut done = Recoded::default();
        for _ in 0..RECODE_PASSES {
            self.load_codec()?;
            let olds: Vec<i64> = self
                .rows(what, "SELECT id FROM mail_dicts WHERE NOT current", &[])?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()
                .map_err(failed(what))?;
            if olds.is_empty() {
                done.left = 0;
                return Ok(done);
            }
            let (mut ticket, mut seq) = (-1i64, -1i64);
            loop {
                let (n, last) = self.recode_batch(&olds, (ticket, seq))?;
                done.rows += n;
                match last {
                    Some(k) => (ticket, seq) = k,
                    None => break,
                }
            }
            let deleted = self.delete_unnamed(&olds)?;
            done.deleted += deleted;
            done.left = (olds.len() as u64).saturating_sub(deleted);
            if done.left == 0 {
                self.load_codec()?;
                return Ok(done);
            }
        }
        self.load_codec()?;
        Ok(done)
    }

    /// Deletes those of `olds` no row names; how many. The foreign key
    /// (schema V9) refuses the statement when another node committed a
    /// row naming one meanwhile: then none is deleted this pass.
    fn delete_unnamed(&self, olds: &[i64]) -> Result<u64> {
        let what = "delete replaced mail dictionaries";
        self.rt.block_on(async {
            let client = self.client(what).await?;
            match client
                .query(
                    "DELETE FROM mail_dicts d WHERE NOT current AND d.id = ANY($1) \
                     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.dict = d.id) RETURNING id",
                    &[&olds],
                )
                .await
            {
                Ok(rows) => Ok(rows.len() as u64),
                Err(e)
                    if e.code()
                        == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) =>
                {
                    Ok(0)
                }
                Err(e) => Err(failed(what)(e)),
            }
        })
    }

    /// One batch of [`PgEngine::recode`] after key `after`: how many rows
    /// it re-packed and the last key it looked at (`None`: the end).
    fn recode_batch(&self, olds: &[i64], after: (i64, i64)) -> Result<(u64, Option<(i64, i64)>)> {
        let what = "re-pack mail";
        let codec = self.codec();
        self.rt.block_on(async {
            let mut client = self.client(what).await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let rows = tx
                .query(
                    "SELECT ticket, seq, raw FROM messages \
                     WHERE (ticket, seq) > ($1, $2) AND dict = ANY($3) \
                     ORDER BY ticket, seq LIMIT $4 FOR UPDATE",
                    &[&after.0, &after.1, &olds, &RECODE_BATCH],
                )
                .await
                .map_err(failed(what))?;
            let Some(last) = rows.last() else {
                return Ok((0, None));
            };
            let last: (i64, i64) = (
                last.try_get(0).map_err(failed(what))?,
                last.try_get(1).map_err(failed(what))?,
            );
            let (mut tickets, mut seqs, mut raws, mut dicts) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for row in &rows {
                let raw: Vec<u8> = row.try_get(2).map_err(failed(what))?;
                // Rows named a dictionary that is in the table (it is
                // deleted only when none does), and the codec was loaded
                // from it after the new one became current.
                let mail = codec.unpack_mail(&raw).map_err(corrupt_mail)?;
                let (packed, dict) = crate::pg::mail::pack(&codec, &mail);
                tickets.push(row.try_get::<_, i64>(0).map_err(failed(what))?);
                seqs.push(row.try_get::<_, i64>(1).map_err(failed(what))?);
                raws.push(packed);
                dicts.push(dict);
            }
            tx.execute(
                "UPDATE messages m SET raw = u.raw, dict = u.dict, packed = true \
                 FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[]) \
                 AS u(ticket, seq, raw, dict) WHERE m.ticket = u.ticket AND m.seq = u.seq",
                &[&tickets, &seqs, &raws, &dicts],
            )
            .await
            .map_err(failed(what))?;
            tx.commit().await.map_err(failed(what))?;
            Ok((tickets.len() as u64, Some(last)))
        })
    }

    /// The dictionaries in the table (id, bytes): what erasure tests scan.
    pub fn mail_dictionaries(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let what = "read mail dictionaries";
        self.rows(what, LOAD, &[])?
            .iter()
            .map(|r| {
                let id: i64 = r.try_get(0).map_err(failed(what))?;
                Ok((
                    u32::try_from(id).unwrap_or(0),
                    r.try_get(1).map_err(failed(what))?,
                ))
            })
            .collect()
    }
}

/// The codec for rows read inside a transaction (a backup's snapshot):
/// the dictionaries as that snapshot holds them.
pub(super) async fn codec_in(
    tx: &tokio_postgres::Transaction<'_>,
) -> std::result::Result<Codec, tokio_postgres::Error> {
    codec_of(&tx.query(LOAD, &[]).await?)
}
