-- postdesk's PostgreSQL schema, version 3 (listing; src/pg/engine/listing.rs).
-- A ticket's last update is kept in whole milliseconds (floored), as the
-- listing cursor (`MS-NUMBER`) and the sled engine's index keys hold it:
-- tickets updated in the same millisecond then list in number order on
-- both engines, and a cursor names exactly where the next page starts.
-- The record beside it keeps the exact time. Writers truncate since V3;
-- this brings rows an older writer stored to the same precision.
UPDATE tickets SET updated = date_trunc('milliseconds', updated)
    WHERE updated <> date_trunc('milliseconds', updated);

-- Each ticket's report summary (`Summary::encode`, ~100 bytes), written
-- with the ticket, so that reports (`stats`), the least-open recount and
-- the metrics' gauges read small values instead of parsing every record
-- (benches/RESULTS.md). `summary_of` is the SHA-256 of the record text the
-- summary was made from: a reader uses the summary only while it matches
-- the record, so a writer that changes a record without its summary (or
-- a row written before V3) is read from the record, never stale.
ALTER TABLE tickets ADD COLUMN summary bytea, ADD COLUMN summary_of bytea;
