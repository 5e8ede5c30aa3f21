//! The outbox in the store: queued mail (built, or planned until the
//! worker builds it), its queue by due time, and the attempts recorded.

use super::*;

impl Store {
    /// A fresh outbox entry id (unique, increasing).
    ///
    /// Ids are dense (the last stored or staged id plus one), so the ids
    /// admins type into `outbox retry` stay small across restarts. Entries
    /// are never deleted, so an id is never given twice (a bounce that
    /// names an old id finds that mail, not a newer one).
    pub fn next_outbox_id(&self, staged: &Staged) -> Result<u64> {
        let stored = self.sled.last_outbox_id()?;
        let staged = staged.outbox.iter().map(|(e, _)| e.id).max().unwrap_or(0);
        Ok(stored.max(staged) + 1)
    }

    /// Queues one outgoing mail with the staged intakes. Its Message-ID is
    /// indexed as sent, so replies to it find the ticket. Mail to an
    /// agent is remembered with how many of the ticket's messages it had
    /// seen (`agent`'s second part): an answer to it that is older than
    /// the ticket's news is held (see [`Store::notification`]).
    pub fn stage_outgoing(
        &self,
        staged: &mut Staged,
        entry: outbox::Entry,
        ticket: Option<u64>,
        agent: Option<(&str, u32)>,
        bytes: &[u8],
    ) {
        if let Some((a, seen)) = agent {
            let value = match ticket {
                Some(t) => format!("{} {t} {seen}", a.to_ascii_lowercase()),
                None => a.to_ascii_lowercase(),
            };
            staged.notified.insert(entry.message_id.clone(), value);
        }
        if let Some(t) = ticket {
            staged.ids.insert(
                crate::mail::msgid::key(&entry.message_id),
                IdEntry {
                    kind: IdKind::Sent,
                    ticket: t,
                },
            );
        }
        let mail = self.codec().pack_mail(bytes);
        staged.bytes += 4 + mail.len();
        staged.outbox.push((entry, mail));
    }

    /// Mail waiting to be sent.
    pub fn outbox_len(&self) -> usize {
        self.sled.outq.len()
    }

    /// Queued mail whose next attempt is due at `now`, soonest first.
    pub fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(outbox::Entry, Vec<u8>)>> {
        let mut end = [0xffu8; 16];
        end[..8].copy_from_slice(&(now.timestamp_millis().max(0) as u64).to_be_bytes());
        let mut out = Vec::new();
        for item in self.sled.outq.range(..=end).take(limit) {
            let (k, _) = item.map_err(self.io("read outbox queue"))?;
            let Some(id) = k.get(8..).and_then(be_u64) else {
                continue;
            };
            if let Some(e) = self.outbox_entry(id)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Every queued entry (without bytes), soonest due first: for the
    /// passes over the whole queue (start-up recovery, pulling every mail
    /// forward when the transport is back), which read only the queue,
    /// never the sent history.
    pub fn queued_outbox(&self) -> Result<Vec<outbox::Entry>> {
        let mut out = Vec::with_capacity(self.sled.outq.len());
        for item in self.sled.outq.iter() {
            let (k, _) = item.map_err(self.io("read outbox queue"))?;
            let Some(id) = k.get(8..).and_then(be_u64) else {
                continue;
            };
            if let Some(v) = self
                .sled
                .outbox
                .get(id.to_be_bytes())
                .map_err(self.io("read outbox"))?
            {
                out.push(record_of::<outbox::Entry>("outbox entry", &v)?);
            }
        }
        Ok(out)
    }

    pub fn outbox_entry(&self, id: u64) -> Result<Option<(outbox::Entry, Vec<u8>)>> {
        self.sled
            .outbox
            .get(id.to_be_bytes())
            .map_err(self.io("read outbox"))?
            .map(|v| decode_with_blob("outbox entry", &self.codec(), &v))
            .transpose()
    }

    /// Every outbox entry (without bytes), oldest first.
    pub fn outbox_entries(&self) -> Result<Vec<outbox::Entry>> {
        self.sled
            .outbox
            .iter()
            .map(|r| {
                let (_, v) = r.map_err(self.io("read outbox"))?;
                record_of::<outbox::Entry>("outbox entry", &v)
            })
            .collect()
    }

    /// Replaces planned outbox entries by their built mails (entry and
    /// bytes), in one transaction, and returns the ids replaced. An entry
    /// changed meanwhile (requeued by an operator, say) is left as it is
    /// now: the worker builds it again from what is stored.
    pub fn store_built(&self, built: &[(outbox::Entry, Vec<u8>)]) -> Result<Vec<u64>> {
        if built.is_empty() {
            return Ok(Vec::new());
        }
        let codec = self.codec();
        let values: Vec<(&outbox::Entry, Vec<u8>)> = built
            .iter()
            .map(|(e, bytes)| (e, with_blob(&json(e), &codec.pack_mail(bytes))))
            .collect();
        let _writing = self.writing();
        self.sled
            .outbox
            .transaction(|t| {
                let mut replaced = Vec::new();
                for (e, value) in &values {
                    let key = e.id.to_be_bytes();
                    let Some(current) = t.get(key)? else {
                        continue;
                    };
                    let unchanged =
                        record_of::<outbox::Entry>("outbox entry", &current).is_ok_and(|c| {
                            c.planned
                                && c.state == outbox::State::Queued
                                && c.next_attempt == e.next_attempt
                                && c.attempts == e.attempts
                        });
                    if unchanged {
                        t.insert(&key, value.as_slice())?;
                        replaced.push(e.id);
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>(replaced)
            })
            .map_err(|e| match e {
                TransactionError::Storage(source) => self.io("store built mail")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "store built mail",
                    detail: "aborted".into(),
                },
            })
    }

    /// Records attempts (or manual requeues), all in one transaction: each
    /// entry's new state and its place in the queue. The bytes are not
    /// touched; an entry no longer stored is skipped.
    pub fn update_outbox(&self, changes: &[(outbox::Entry, outbox::Entry)]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut values = Vec::with_capacity(changes.len());
        for (old, new) in changes {
            let Some(current) = self
                .sled
                .outbox
                .get(old.id.to_be_bytes())
                .map_err(self.io("read outbox"))?
            else {
                continue;
            };
            let len = current
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .unwrap_or(0) as usize;
            let blob = current.get(4 + len..).unwrap_or_default();
            values.push((old, new, with_blob(&json(new), blob)));
        }
        let _writing = self.writing();
        (&*self.sled.outbox, &*self.sled.outq)
            .transaction(|(ot, qt)| {
                for (old, new, value) in &values {
                    ot.insert(&new.id.to_be_bytes(), value.as_slice())?;
                    qt.remove(&queue_key(old))?;
                    if new.state == outbox::State::Queued {
                        qt.insert(&queue_key(new), &[])?;
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(source) => self.io("outbox update")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "outbox update",
                    detail: "aborted".into(),
                },
            })
    }
}
