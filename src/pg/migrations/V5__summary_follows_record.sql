-- postdesk's PostgreSQL schema, version 5 (report summaries checked when
-- written; src/pg/engine/listing.rs).
-- Since V3 a ticket's report summary is used only while `summary_of` is the
-- hash of its record. Checking that when reading hashed every record on
-- every `stats`: at 100,000 tickets most of the report's time, at a million
-- several seconds (benches/RESULTS.md, session 10). The same rule now holds
-- when a row is written: a summary that was not made from the record
-- written beside it (a writer that changed the record alone, a hand edit)
-- is dropped, and a report computes that ticket's summary from the record.
-- Readers take any summary that is there.
CREATE FUNCTION postdesk_summary_follows_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.summary IS NOT NULL
       AND NEW.summary_of IS DISTINCT FROM sha256(convert_to(NEW.record::text, 'UTF8')) THEN
        NEW.summary := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tickets_summary_follows_record
    BEFORE INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION postdesk_summary_follows_record();

-- Rows written before this version: the same rule, once.
UPDATE tickets SET summary = NULL
    WHERE summary IS NOT NULL
      AND summary_of IS DISTINCT FROM sha256(convert_to(record::text, 'UTF8'));
