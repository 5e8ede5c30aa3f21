-- postdesk's PostgreSQL schema, version 3 (listing; src/pg/engine/listing.rs).
-- A ticket's last update is kept in whole milliseconds (floored), as the
-- listing cursor (`MS-NUMBER`) and the sled engine's index keys hold it:
-- tickets updated in the same millisecond then list in number order on
-- both engines, and a cursor names exactly where the next page starts.
-- The record beside it keeps the exact time. Writers truncate since V3;
-- this brings rows an older writer stored to the same precision.
UPDATE tickets SET updated = date_trunc('milliseconds', updated)
    WHERE updated <> date_trunc('milliseconds', updated);
