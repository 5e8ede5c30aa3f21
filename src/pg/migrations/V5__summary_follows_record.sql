-- postdesk's PostgreSQL schema, version 5 (report summaries checked when
-- written; src/pg/engine/listing.rs).
-- Since V3 a ticket's report summary is used only while `summary_of` is the
-- hash of its record. Checking that when reading hashed every record on
-- every `stats`: 45 % of the time to read 99,000 tickets' summaries
-- (benches/RESULTS.md, session 10). The same rule now holds
-- when a row is written: a summary that was not made from the record
-- written beside it (a writer that changed the record alone, a hand edit)
-- is dropped, and a report computes that ticket's summary from the record.
-- Readers take any summary that is there.
-- The check is the trigger's WHEN condition, evaluated without calling a
-- function (about 3 us a row for SHA-256 of a record); the function that
-- drops the summary runs only for a row that fails it. A trigger function
-- that hashed every row itself cost a tenth of a bulk import's time.
CREATE FUNCTION postdesk_drop_stale_summary() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.summary := NULL;
    RETURN NEW;
END
$$;

CREATE TRIGGER tickets_summary_follows_record
    BEFORE INSERT OR UPDATE ON tickets
    FOR EACH ROW
    WHEN (NEW.summary IS NOT NULL
          AND NEW.summary_of IS DISTINCT FROM sha256(convert_to(NEW.record::text, 'UTF8')))
    EXECUTE FUNCTION postdesk_drop_stale_summary();

-- Rows written before this version: the same rule, once.
UPDATE tickets SET summary = NULL
    WHERE summary IS NOT NULL
      AND summary_of IS DISTINCT FROM sha256(convert_to(record::text, 'UTF8'));
