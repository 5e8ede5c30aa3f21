-- postdesk's PostgreSQL schema, version 2: several nodes share the outbox
-- and the ticket timers (why: src/pg/schema.rs).

-- Due times in whole milliseconds, as sled's queue and timer keys hold
-- them, so that both engines find and order due work alike (the exact
-- time stays in the record). Older rows are brought in line.
UPDATE outbox SET next_attempt = date_trunc('milliseconds', next_attempt)
    WHERE next_attempt <> date_trunc('milliseconds', next_attempt);
UPDATE tickets SET timer_due = date_trunc('milliseconds', timer_due)
    WHERE timer_due <> date_trunc('milliseconds', timer_due);

-- A sender's claim on a queued entry: which node, until when (the
-- database's clock). Claimed with SELECT ... FOR UPDATE SKIP LOCKED, so
-- two senders never get the same entry; recording the attempt ends it.
ALTER TABLE outbox ADD COLUMN claimed_by text, ADD COLUMN claim_until timestamptz;

-- The same for a ticket's due deadline: one node runs a ticket's timers.
-- Writing the ticket ends the claim.
ALTER TABLE tickets ADD COLUMN timer_claimed_by text, ADD COLUMN timer_claim_until timestamptz;
