//! The mail dictionaries: what new mail is packed with, trained from the
//! desk's first messages, stored by the engine (sled's `meta`,
//! PostgreSQL's `mail_dicts`), refreshed from other nodes, and replaced
//! after an erasure.

use super::*;

/// How often a PostgreSQL node compares its mail dictionaries with the
/// table's (see [`Store::refresh_shared_dictionaries`]).
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The first messages of a `messages` tree, as training samples for the
/// mail dictionary: each cut to its first [`codec::SAMPLE_BYTES`]
/// (headers and the start of the text are what repeats), at most
/// [`codec::TRAIN_BYTES`] in all. Intake and the rewrite after an erasure
/// train by this one rule; [`training_units`] says whether there are
/// enough.
pub(super) fn training_samples(
    messages: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
    codec: &codec::Codec,
) -> sled::Result<Vec<Vec<u8>>> {
    let (mut samples, mut bytes) = (Vec::new(), 0);
    for r in messages {
        if training_units(samples.len(), bytes) >= codec::TRAIN_SAMPLES {
            break;
        }
        let (_, v) = r?;
        // A message that does not decode is left out of the sample.
        if let Ok((_, mut raw)) = decode_with_blob::<serde::de::IgnoredAny>("message", codec, &v) {
            raw.truncate(codec::SAMPLE_BYTES);
            bytes += raw.len();
            samples.push(raw);
        }
    }
    Ok(samples)
}

/// How much there is to train a dictionary from: one unit a message and
/// one per [`codec::TRAIN_BYTES`] / [`codec::TRAIN_SAMPLES`] bytes, so
/// that [`codec::TRAIN_SAMPLES`] units are that many messages or that
/// many bytes, whichever comes first (small mail or large).
pub(super) fn training_units(messages: usize, bytes: usize) -> usize {
    messages + bytes / (codec::TRAIN_BYTES / codec::TRAIN_SAMPLES)
}

/// The [`training_units`] of samples.
pub(super) fn sample_units(samples: &[Vec<u8>]) -> usize {
    training_units(samples.len(), samples.iter().map(Vec::len).sum())
}

impl Store {
    /// How mail is packed now: both engines take staged mail packed with
    /// it, compressed off the store thread (see [`Store::stage`]): sled's
    /// dictionaries in `meta`, PostgreSQL's in `mail_dicts` (schema V8).
    pub fn codec(&self) -> std::sync::Arc<codec::Codec> {
        match &self.kept {
            Kept::Sled(s) => s.codec(),
            Kept::Postgres(p) => p.codec(),
        }
    }

    /// Reads the mail dictionaries kept in `meta` (sled) or `mail_dicts`.
    pub(super) fn load_codec(&self) -> Result<()> {
        let s = match &self.kept {
            Kept::Sled(s) => s,
            Kept::Postgres(p) => return p.load_codec(),
        };
        let dicts = self.mail_dictionaries()?;
        let current = s
            .meta
            .get(KEY_DICT_CURRENT)
            .map_err(self.io("read mail dictionaries"))?
            .and_then(|v| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?)));
        s.set_codec(codec::Codec::new(&dicts, current));
        Ok(())
    }

    /// Trains the mail dictionary when it may succeed (none yet, and
    /// enough mail stored: see `train_due`), on a thread of its own:
    /// training takes seconds on large mail, and sources call this after
    /// each flush. A later call (or closing the store) stores the finished
    /// dictionary. A failure is logged: mail is stored as well without a
    /// dictionary.
    pub fn maybe_train_dictionary(&self) {
        use std::sync::atomic::Ordering;
        if let Kept::Postgres(p) = &self.kept {
            self.refresh_shared_dictionaries(p);
        }
        if self.codec().has_dictionary() {
            return;
        }
        let mut training = self.training.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = training.as_ref() {
            if !t.is_finished() {
                return;
            }
            if let Some(Ok(Some((id, dict)))) = training.take().map(|t| t.join()) {
                if let Err(e) = self.install_dictionary(id, &dict) {
                    tracing::warn!(error = %e, "cannot store a mail dictionary; mail is stored without one");
                }
            }
            return;
        }
        if self.train_due.load(Ordering::Relaxed) < codec::TRAIN_SAMPLES {
            return;
        }
        match self.training_samples() {
            Ok(samples) if sample_units(&samples) >= codec::TRAIN_SAMPLES => {
                self.train_due.store(0, Ordering::Relaxed);
                *training = Some(std::thread::spawn(move || codec::train(&samples)));
            }
            // Too little yet: the next try when what was found and what
            // is committed since can be enough.
            Ok(samples) => self
                .train_due
                .store(sample_units(&samples), Ordering::Relaxed),
            Err(e) => {
                self.train_due.store(0, Ordering::Relaxed);
                tracing::warn!(error = %e, "cannot read mail to train a dictionary");
            }
        }
    }

    /// Trains and stores the mail dictionary now, if there is enough mail
    /// and none was trained yet; returns whether it did.
    pub fn train_dictionary(&self) -> Result<bool> {
        if self.codec().has_dictionary() {
            return Ok(false);
        }
        let samples = self.training_samples()?;
        if sample_units(&samples) < codec::TRAIN_SAMPLES {
            return Ok(false);
        }
        let Some((id, dict)) = codec::train(&samples) else {
            return Ok(false);
        };
        self.install_dictionary(id, &dict)?;
        Ok(true)
    }

    /// The desk's first messages, as training samples (see
    /// [`training_samples`]).
    pub(super) fn training_samples(&self) -> Result<Vec<Vec<u8>>> {
        match &self.kept {
            Kept::Sled(s) => {
                training_samples(s.messages.iter(), &self.codec()).map_err(self.io("read messages"))
            }
            Kept::Postgres(p) => p.training_samples(codec::SAMPLE_BYTES, &|n, bytes| {
                training_units(n, bytes) >= codec::TRAIN_SAMPLES
            }),
        }
    }

    /// The mail dictionaries the store holds (id, bytes): what erasure
    /// tests scan, since a dictionary is made of mail.
    pub fn mail_dictionaries(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut dicts = Vec::new();
        let s = match &self.kept {
            Kept::Sled(s) => s,
            Kept::Postgres(p) => return p.mail_dictionaries(),
        };
        for r in s.meta.scan_prefix(DICT_PREFIX) {
            let (k, v) = r.map_err(self.io("read mail dictionaries"))?;
            if let Some(id) = k.get(DICT_PREFIX.len()..).and_then(|b| b.try_into().ok()) {
                dicts.push((u32::from_be_bytes(id), v.to_vec()));
            }
        }
        Ok(dicts)
    }

    /// Forgets a dictionary being trained: its samples may hold mail an
    /// erasure has just removed (the rewrite trains one afresh).
    pub(super) fn forget_training(&self) {
        // The thread runs on; its result is dropped with the handle.
        drop(
            self.training
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }

    /// Stores a mail dictionary and compresses new mail with it. It is
    /// durable before any mail is packed with it.
    pub(super) fn install_dictionary(&self, id: u32, dict: &[u8]) -> Result<()> {
        if let Kept::Postgres(p) = &self.kept {
            // Committed before this node packs with it; another node's,
            // stored first, wins and is adopted.
            let ours = p.install_dictionary(id, dict)?;
            tracing::info!(
                id,
                adopted = ?(!ours).then(|| p.codec().current()).flatten(),
                "trained a mail dictionary from the desk's first messages"
            );
            return Ok(());
        }
        let mut key = DICT_PREFIX.to_vec();
        key.extend_from_slice(&id.to_be_bytes());
        {
            let Some(s) = self.sled() else {
                return Ok(());
            };
            let _writing = self.writing();
            s.meta
                .insert(key, dict)
                .map_err(self.io("store a mail dictionary"))?;
            s.meta
                .insert(KEY_DICT_CURRENT, &id.to_be_bytes())
                .map_err(self.io("store a mail dictionary"))?;
        }
        self.flush()?;
        self.load_codec()?;
        tracing::info!(
            id,
            "trained a mail dictionary from the desk's first messages"
        );
        Ok(())
    }

    /// Every [`REFRESH_EVERY`] at most (sources call
    /// [`Store::maybe_train_dictionary`] after each batch): loads the
    /// dictionaries again when another node changed the current one, so
    /// that this node stops packing with one an erasure replaced. Until
    /// then its rows stay readable (the older dictionary is deleted only
    /// when no row names it) and the re-pack's next pass moves them.
    pub(super) fn refresh_shared_dictionaries(&self, p: &crate::pg::engine::PgEngine) {
        let mut last = self.refreshed.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
            return;
        }
        *last = Some(std::time::Instant::now());
        if let Err(e) = p.refresh_dictionaries() {
            tracing::warn!(error = %e, "cannot read the mail dictionaries");
        }
    }

    /// PostgreSQL: after an erasure, replaces every mail dictionary that
    /// may hold the erased person's words: trains a new one from the live
    /// mail (none if too little is left), makes it current, re-packs the
    /// rows packed with older ones and deletes those
    /// ([`crate::pg::engine::PgEngine::recode`]). sled does this in its
    /// offline rewrite.
    pub(super) fn renew_dictionary(&self) -> Result<()> {
        let Kept::Postgres(p) = &self.kept else {
            return Ok(());
        };
        let samples = self.training_samples()?;
        let new = if sample_units(&samples) >= codec::TRAIN_SAMPLES {
            codec::train(&samples)
        } else {
            None
        };
        drop(samples);
        p.replace_dictionary(new)?;
        self.finish_recode()
    }

    /// PostgreSQL: finishes a re-pack that an erasure began, if one is
    /// pending (an older dictionary still exists): a crash midway leaves
    /// exactly that state, and every process that opens the store checks
    /// it (one small query).
    pub(super) fn finish_recode(&self) -> Result<()> {
        let Kept::Postgres(p) = &self.kept else {
            return Ok(());
        };
        if !p.recode_pending()? {
            return Ok(());
        }
        let done = p.recode()?;
        if done.left > 0 {
            tracing::warn!(
                rows = done.rows,
                left = done.left,
                "re-packed mail, but rows written meanwhile still name an older mail dictionary; the next start or erasure finishes it"
            );
        } else {
            tracing::info!(
                rows = done.rows,
                dictionaries = done.deleted,
                "re-packed mail with the current mail dictionary and deleted the older ones"
            );
        }
        Ok(())
    }
}
