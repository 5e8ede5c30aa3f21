//! The intake primitives over the trees.

use super::*;
use crate::store::engine::Intake;

impl Intake for Sled {
    fn id_entry(&self, key: &str) -> Result<Option<IdEntry>> {
        Ok(self
            .msgids
            .get(key.as_bytes())
            .map_err(self.io("read message-id index"))?
            .and_then(|v| IdEntry::decode(&v)))
    }

    /// A notification's agent rides in its sent id's index entry; older
    /// stores, and notifications with no ticket, keep it in `notified`.
    fn notified(&self, message_id: &str) -> Result<Option<String>> {
        let in_index = self
            .msgids
            .get(msgid::key(message_id).as_bytes())
            .map_err(self.io("read message-id index"))?
            .and_then(|v| notified_in_entry(&v).map(str::to_string));
        if in_index.is_some() {
            return Ok(in_index);
        }
        Ok(self
            .notified
            .get(message_id.as_bytes())
            .map_err(self.io("read notifications"))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn ticket(&self, number: u64) -> Result<Option<Ticket>> {
        self.tickets
            .get(number.to_be_bytes())
            .map_err(self.io("read ticket"))?
            .map(|v| from_packed("ticket", &v))
            .transpose()
    }

    fn last_ticket(&self) -> Result<u64> {
        Ok(self
            .tickets
            .last()
            .map_err(self.io("read ticket numbers"))?
            .and_then(|(k, _)| be_u64(&k))
            .unwrap_or(0))
    }

    fn last_outbox_id(&self) -> Result<u64> {
        Ok(self
            .outbox
            .last()
            .map_err(self.io("read outbox ids"))?
            .and_then(|(k, _)| be_u64(&k))
            .unwrap_or(0))
    }

    fn counter(&self, name: &str) -> Result<Option<u64>> {
        Ok(self
            .meta
            .get(format!("counter/{name}"))
            .map_err(self.io("read counter"))?
            .and_then(|v| be_u64(&v)))
    }

    fn cursor(&self, source: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .cursors
            .get(source.as_bytes())
            .map_err(self.io("read cursor"))?
            .map(|v| v.to_vec()))
    }

    fn notice(&self, notice: &str, email: &str) -> Result<Option<NoticeRecord>> {
        self.meta
            .get(notice_key(notice, email).as_bytes())
            .map_err(self.io("read notices"))?
            .map(|v| from_json("notice", &v))
            .transpose()
    }

    fn mark(&self, email: &str) -> Result<Option<bounce::Mark>> {
        self.guard
            .get(guard_key("mark", email))
            .map_err(self.io("read address marks"))?
            .map(|v| from_json("address mark", &v))
            .transpose()
    }

    fn auto_sent(&self, email: &str) -> Result<Vec<DateTime<Utc>>> {
        let ms: Vec<i64> = self
            .guard
            .get(guard_key("sent", email))
            .map_err(self.io("read automatic-mail counts"))?
            .map(|v| from_json("automatic-mail count", &v))
            .transpose()?
            .unwrap_or_default();
        Ok(ms
            .into_iter()
            .filter_map(DateTime::from_timestamp_millis)
            .collect())
    }

    fn due_tickets(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<u64>> {
        let end = timer_key(now.timestamp_millis().max(0) as u64, u64::MAX);
        self.timers
            .range(..=end)
            .take(limit)
            .map(|r| {
                let (k, _) = r.map_err(self.io("read timers"))?;
                Ok(k.get(8..).and_then(be_u64).unwrap_or(0))
            })
            .collect()
    }

    fn next_timer(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .timers
            .first()
            .map_err(self.io("read timers"))?
            .and_then(|(k, _)| be_u64(&k))
            .and_then(|ms| DateTime::from_timestamp_millis(ms as i64)))
    }

    /// The staged values are encoded before sled's transaction, which may
    /// run its closure more than once.
    fn write(&self, staged: &Staged) -> Result<()> {
        let messages: Vec<([u8; 12], Vec<u8>)> = staged
            .messages
            .iter()
            .map(|m| (message_key(m.ticket, m.seq), with_blob(&m.json, &m.mail)))
            .collect();
        // Outgoing mail is staged raw (it is small, and built on the
        // serial path anyway); only intake's messages come packed.
        let codec = self.codec();
        let outgoing: Vec<(&crate::outbox::Entry, Vec<u8>)> = staged
            .outbox
            .iter()
            .map(|(e, mail)| (e, with_blob(&json(e), &codec.pack_mail(mail))))
            .collect();
        let customers: Vec<Vec<u8>> = staged
            .customers
            .iter()
            .map(|(email, ticket)| customer_key(email, *ticket))
            .collect();
        let tickets: Vec<([u8; 8], Vec<u8>)> = staged
            .tickets
            .iter()
            .map(|(n, t)| (n.to_be_bytes(), codec::pack_record(&json(t))))
            .collect();
        let reindex: Vec<listing::Reindex> =
            staged.tickets.values().map(listing::Reindex::of).collect();
        let trees = (
            &*self.tickets,
            &*self.messages,
            &*self.msgids,
            &*self.customers,
            &*self.outbox,
            &*self.outq,
            &*self.meta,
            &*self.cursors,
            &*self.notified,
            &*self.timers,
            &*self.guard,
            &*self.ticket_index,
        );
        let marks: Vec<(Vec<u8>, Option<Vec<u8>>)> = staged
            .marks
            .iter()
            .map(|(email, m)| (guard_key("mark", email), m.as_ref().map(json)))
            .collect();
        let sent: Vec<(Vec<u8>, Vec<u8>)> = staged
            .auto_sent
            .iter()
            .map(|(email, times)| {
                let ms: Vec<i64> = times.iter().map(|t| t.timestamp_millis()).collect();
                (guard_key("sent", email), json(&ms))
            })
            .collect();
        // A notification's agent rides in its sent id's index entry (one
        // write less per notification); one with no ticket, or whose
        // normalized id another staged notification took, keeps its own.
        let mut with_agent: std::collections::HashMap<String, &String> =
            std::collections::HashMap::new();
        let mut separate: Vec<(&String, &String)> = Vec::new();
        for (id, agent) in &staged.notified {
            let key = msgid::key(id);
            let sent = staged.ids.get(&key).is_some_and(|e| e.kind == IdKind::Sent);
            if sent && !with_agent.contains_key(&key) {
                with_agent.insert(key, agent);
            } else {
                separate.push((id, agent));
            }
        }
        let keys = staged.tickets.len()
            + reindex.iter().map(|r| r.keys.len() + 1).sum::<usize>()
            + staged.messages.len()
            + staged.ids.len()
            + staged.customers.len()
            + staged.outbox.len() * 2
            + staged.counters.len()
            + staged.cursors.len()
            + separate.len()
            + staged.marks.len()
            + staged.auto_sent.len()
            + staged.notices.len();
        self.usage.wrote(keys as u64);
        trees
            .transaction(|(tt, mt, it, ct, ot, qt, meta, cur, nt, timers, gt, xt)| {
                for (k, v) in &marks {
                    match v {
                        Some(v) => gt.insert(k.as_slice(), v.as_slice())?,
                        None => gt.remove(k.as_slice())?,
                    };
                }
                for (k, v) in &sent {
                    gt.insert(k.as_slice(), v.as_slice())?;
                }
                // Each ticket is indexed under its next deadline; the old
                // entry goes when the deadline moves. The old deadline is
                // the stored ticket's (a new ticket has none).
                for (n, t) in &staged.tickets {
                    let new = t.timer_due.map(|d| d.timestamp_millis().max(0) as u64);
                    let old = match tt.get(n.to_be_bytes())? {
                        Some(v) => stored_due(&v),
                        None => None,
                    };
                    if old != new {
                        if let Some(o) = old {
                            timers.remove(timer_key(o, *n).as_slice())?;
                        }
                        if let Some(d) = new {
                            timers.insert(timer_key(d, *n).as_slice(), &[])?;
                        }
                    }
                }
                for (id, agent) in &separate {
                    nt.insert(id.as_bytes(), agent.as_bytes())?;
                }
                for (name, value) in &staged.cursors {
                    cur.insert(name.as_bytes(), value.as_slice())?;
                }
                for (key, value) in &staged.notices {
                    meta.insert(key.as_bytes(), value.as_slice())?;
                }
                for (name, value) in &staged.counters {
                    meta.insert(format!("counter/{name}").as_bytes(), &value.to_be_bytes())?;
                }
                for (entry, value) in &outgoing {
                    ot.insert(&entry.id.to_be_bytes(), value.as_slice())?;
                    qt.insert(queue_key(entry).as_slice(), &[])?;
                }
                for (k, v) in &messages {
                    mt.insert(k, v.as_slice())?;
                }
                for (id, entry) in &staged.ids {
                    // A staged "referenced" never overwrites what the index
                    // learned meanwhile.
                    // A staged mention or conversation never overwrites
                    // what the index learned meanwhile.
                    let weak = matches!(entry.kind, IdKind::Referenced | IdKind::Conversation);
                    if weak && it.get(id.as_bytes())?.is_some() {
                        continue;
                    }
                    match with_agent.get(id) {
                        Some(agent) => {
                            let mut v = entry.encode().to_vec();
                            v.extend_from_slice(agent.as_bytes());
                            it.insert(id.as_bytes(), v)?
                        }
                        None => it.insert(id.as_bytes(), &entry.encode())?,
                    };
                }
                for (k, v) in &tickets {
                    tt.insert(k, v.as_slice())?;
                }
                // The listing indexes move with the ticket.
                for r in &reindex {
                    r.apply(xt)?;
                }
                for k in &customers {
                    ct.insert(k.as_slice(), &[])?;
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(source) => self.io("intake transaction")(source),
                TransactionError::Abort(()) => StoreError::Corrupt {
                    what: "intake transaction",
                    detail: "aborted".into(),
                },
            })?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(self.io("flush"))?;
        Ok(())
    }
}
