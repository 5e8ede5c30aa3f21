//! The rewrite that follows an erasure on sled.
//!
//! sled is log-structured: a removed or overwritten value stays in its old
//! segment until the segment is reused, and nothing says when. So after the
//! erasure's transaction the store is copied, live record by live record,
//! into a fresh directory that replaces the old one ([`rewrite`]).
//! That takes time in proportion to the whole store, and needs the store
//! closed: the daemon closes and reopens it around the swap. The copy also
//! replaces the mail dictionary, which is made of the desk's first
//! messages and so may hold the erased person's words ([`Recode`]).
//!
//! The swap survives a crash at any point: the copy is made beside the
//! store (`store.new`), a marker file (`store.rewritten`) is written once
//! the copy is durable, and only then are the directories renamed. Opening
//! a store finishes a marked swap, or discards an unmarked copy.

use super::*;

const NEW_DIR: &str = "store.new";
const OLD_DIR: &str = "store.old";
const MARKER: &str = "store.rewritten";

/// Rewrites the (closed) store in `state_dir/store` so that it holds
/// its live records and nothing else: every tree is copied into a
/// fresh directory, which then replaces the old one, and the old one
/// is deleted. Time and space grow with the whole store (it briefly
/// exists twice). Returns the records copied.
pub(crate) fn rewrite(state_dir: &Path) -> std::io::Result<u64> {
    finish_rewrite(state_dir)?;
    let path = state_dir.join("store");
    let new = state_dir.join(NEW_DIR);
    let copied = {
        let old = open_when_released(&path)?;
        let fresh = sled::Config::new()
            .path(&new)
            .create_new(true)
            .open()
            .map_err(std::io::Error::other)?;
        let recode = Recode::of(&old)?;
        let mut copied = 0u64;
        for name in old.tree_names() {
            let from = old.open_tree(&name).map_err(std::io::Error::other)?;
            let to = fresh.open_tree(&name).map_err(std::io::Error::other)?;
            let mut batch = sled::Batch::default();
            let mut pending = 0usize;
            if &*name == b"meta" {
                for (k, v) in recode.meta() {
                    batch.insert(k, v);
                }
            }
            for item in from.iter() {
                let (k, v) = item.map_err(std::io::Error::other)?;
                let Some(v) = recode.value(&name, &k, v) else {
                    continue;
                };
                pending += k.len() + v.len();
                batch.insert(k, v);
                copied += 1;
                if pending > 8 << 20 {
                    to.apply_batch(std::mem::take(&mut batch))
                        .map_err(std::io::Error::other)?;
                    pending = 0;
                }
            }
            to.apply_batch(batch).map_err(std::io::Error::other)?;
        }
        fresh.flush().map_err(std::io::Error::other)?;
        copied
    };
    // Both are closed here. The marker says the copy is whole.
    std::fs::write(state_dir.join(MARKER), b"store.new is a complete copy\n")?;
    sync_dir(state_dir)?;
    finish_rewrite(state_dir)?;
    Ok(copied)
}

/// The mail dictionary through a rewrite. A trained dictionary is made of
/// the desk's first messages, so it can hold the words of a person just
/// erased: the rewrite trains a new one from the mail that is still live
/// (by the rule intake trains by, so from nothing the erasure removed),
/// re-packs every stored mail with it, and leaves every older dictionary
/// behind. With too little live mail to train from, mail is packed
/// without a dictionary, and intake trains one later. A store that never
/// had a dictionary is copied value for value.
struct Recode {
    /// `None`: no dictionary before or after, values copied as they are.
    codecs: Option<(codec::Codec, codec::Codec)>,
    /// The new dictionary (id, bytes), if one was trained.
    dict: Option<(u32, Vec<u8>)>,
}

impl Recode {
    fn of(db: &sled::Db) -> std::io::Result<Recode> {
        let meta = db.open_tree("meta").map_err(std::io::Error::other)?;
        let mut dicts = Vec::new();
        for r in meta.scan_prefix(DICT_PREFIX) {
            let (k, v) = r.map_err(std::io::Error::other)?;
            if let Some(id) = k.get(DICT_PREFIX.len()..).and_then(|b| b.try_into().ok()) {
                dicts.push((u32::from_be_bytes(id), v.to_vec()));
            }
        }
        if dicts.is_empty() {
            return Ok(Recode {
                codecs: None,
                dict: None,
            });
        }
        let old = codec::Codec::new(&dicts, None);
        let messages = db.open_tree("messages").map_err(std::io::Error::other)?;
        let samples = training_samples(messages.iter(), &old).map_err(std::io::Error::other)?;
        let dict = (sample_units(&samples) >= codec::TRAIN_SAMPLES)
            .then(|| codec::train(&samples))
            .flatten();
        let new = match &dict {
            Some((id, d)) => codec::Codec::new(&[(*id, d.clone())], Some(*id)),
            None => codec::Codec::default(),
        };
        Ok(Recode {
            codecs: Some((old, new)),
            dict,
        })
    }

    /// What `meta` holds of the new dictionary.
    fn meta(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let Some((id, dict)) = &self.dict else {
            return Vec::new();
        };
        let mut key = DICT_PREFIX.to_vec();
        key.extend_from_slice(&id.to_be_bytes());
        vec![
            (key, dict.clone()),
            (KEY_DICT_CURRENT.to_vec(), id.to_be_bytes().to_vec()),
        ]
    }

    /// A value as the rewritten store keeps it; `None` drops it (an old
    /// dictionary).
    fn value(&self, tree: &[u8], key: &[u8], v: sled::IVec) -> Option<sled::IVec> {
        let Some((old, new)) = &self.codecs else {
            return Some(v);
        };
        let repack = |blob: &[u8]| -> Option<Vec<u8>> {
            // Bytes that do not unpack (damaged, or never packed) are
            // copied as they are: no reader could read more of them.
            old.unpack_mail(blob).ok().map(|raw| new.pack_mail(&raw))
        };
        match tree {
            b"meta" if key.starts_with(DICT_PREFIX) || key == KEY_DICT_CURRENT => None,
            b"messages" | b"outbox" => {
                // Record length, record, blob: only the blob changes. A
                // value too short for its header is copied as it is.
                let repacked = v
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(|b| 4 + u32::from_be_bytes(b) as usize)
                    .and_then(|at| Some((v.get(..at)?, repack(v.get(at..)?)?)))
                    .map(|(head, blob)| [head, blob.as_slice()].concat());
                Some(repacked.map_or(v, Into::into))
            }
            b"qraw" => Some(repack(&v).map_or(v, Into::into)),
            _ => Some(v),
        }
    }
}

/// How long [`rewrite`] waits for the store's lock: sled's
/// background flusher lets go of a closed store a moment after the last
/// handle is dropped.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens the store just closed by this process (or a command that held it
/// for a moment), waiting while its lock is still held.
fn open_when_released(path: &Path) -> std::io::Result<sled::Db> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new().path(path).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if (e.kind() == std::io::ErrorKind::WouldBlock
                    || e.to_string().contains("lock"))
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(std::io::Error::other(e)),
        }
    }
}

/// Completes (or, when the copy was not whole, abandons) a rewrite that
/// a crash interrupted. Called before every opening of the store.
pub(crate) fn finish_rewrite(state_dir: &Path) -> std::io::Result<()> {
    let (store, new, old, marker) = (
        state_dir.join("store"),
        state_dir.join(NEW_DIR),
        state_dir.join(OLD_DIR),
        state_dir.join(MARKER),
    );
    if marker.exists() {
        if new.exists() {
            if store.exists() {
                remove_when_released(&old)?;
                std::fs::rename(&store, &old)?;
            }
            std::fs::rename(&new, &store)?;
            sync_dir(state_dir)?;
        }
        std::fs::remove_file(&marker)?;
        sync_dir(state_dir)?;
    } else if new.exists() {
        // A copy that never finished: the store itself is untouched.
        std::fs::remove_dir_all(&new)?;
    }
    if old.exists() {
        remove_when_released(&old)?;
        sync_dir(state_dir)?;
    }
    Ok(())
}

/// Deletes a store directory that sled may still be closing (its flusher
/// can write one last file a moment after the last handle went).
fn remove_when_released(dir: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) if tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(root: &Path, name: &str, content: &str) {
        std::fs::create_dir_all(root.join(name)).unwrap();
        std::fs::write(root.join(name).join("db"), content).unwrap();
    }

    fn content(root: &Path, name: &str) -> Option<String> {
        std::fs::read_to_string(root.join(name).join("db")).ok()
    }

    #[test]
    fn a_copy_that_never_finished_is_dropped_and_the_store_kept() {
        let t = tempfile::tempdir().unwrap();
        dir_with(t.path(), "store", "old");
        dir_with(t.path(), NEW_DIR, "half");
        finish_rewrite(t.path()).unwrap();
        assert_eq!(content(t.path(), "store").as_deref(), Some("old"));
        assert!(!t.path().join(NEW_DIR).exists());
    }

    #[test]
    fn a_marked_copy_replaces_the_store_wherever_the_swap_stopped() {
        // Stopped before the first rename.
        let t = tempfile::tempdir().unwrap();
        dir_with(t.path(), "store", "old");
        dir_with(t.path(), NEW_DIR, "new");
        std::fs::write(t.path().join(MARKER), "").unwrap();
        finish_rewrite(t.path()).unwrap();
        assert_eq!(content(t.path(), "store").as_deref(), Some("new"));
        // Stopped between the two renames.
        let t = tempfile::tempdir().unwrap();
        dir_with(t.path(), OLD_DIR, "old");
        dir_with(t.path(), NEW_DIR, "new");
        std::fs::write(t.path().join(MARKER), "").unwrap();
        finish_rewrite(t.path()).unwrap();
        assert_eq!(content(t.path(), "store").as_deref(), Some("new"));
        // Stopped before the old one was deleted.
        let t = tempfile::tempdir().unwrap();
        dir_with(t.path(), "store", "new");
        dir_with(t.path(), OLD_DIR, "old");
        finish_rewrite(t.path()).unwrap();
        assert_eq!(content(t.path(), "store").as_deref(), Some("new"));
        assert!(!t.path().join(OLD_DIR).exists());
        assert!(!t.path().join(MARKER).exists());
    }

    #[test]
    fn a_rewrite_keeps_every_live_record_and_drops_the_removed_ones() {
        let t = tempfile::tempdir().unwrap();
        let secret = b"a value that was removed before the rewrite".to_vec();
        {
            let store = Store::open(t.path()).unwrap();
            store
                .sled()
                .expect("a sled store")
                .meta
                .insert("keep", b"kept".to_vec())
                .unwrap();
            for i in 0..50u32 {
                store
                    .sled()
                    .expect("a sled store")
                    .meta
                    .insert(format!("gone{i}"), secret.clone())
                    .unwrap();
            }
            store.flush().unwrap();
            for i in 0..50u32 {
                store
                    .sled()
                    .expect("a sled store")
                    .meta
                    .remove(format!("gone{i}"))
                    .unwrap();
            }
            store.flush().unwrap();
        }
        let holds = |root: &Path| {
            let mut files = vec![root.join("store")];
            let mut found = Vec::new();
            while let Some(d) = files.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    if e.path().is_dir() {
                        files.push(e.path());
                    } else {
                        let bytes = std::fs::read(e.path()).unwrap();
                        if bytes.windows(secret.len()).any(|w| w == secret) {
                            found.push(e.path());
                        }
                    }
                }
            }
            found
        };
        // sled's log keeps what was removed: the reason for the rewrite.
        assert!(!holds(t.path()).is_empty());
        Store::rewrite(t.path()).unwrap();
        assert_eq!(holds(t.path()), Vec::<std::path::PathBuf>::new());
        let store = Store::open(t.path()).unwrap();
        assert_eq!(
            store
                .sled()
                .expect("a sled store")
                .meta
                .get("keep")
                .unwrap()
                .as_deref(),
            Some(&b"kept"[..])
        );
        assert!(store
            .sled()
            .expect("a sled store")
            .meta
            .get("gone0")
            .unwrap()
            .is_none());
    }
}
