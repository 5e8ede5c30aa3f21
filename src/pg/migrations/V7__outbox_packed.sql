-- postdesk's PostgreSQL schema, version 7 (outgoing mail packed by
-- postdesk, as messages' mail is since V6; src/pg/mail.rs).
-- An outbox row's `body` holds what building the mail needs (the plan:
-- template data with the customer's words, 4-11 KB of JSON on support
-- mail) until the sender builds it, then the built mail. Both went in as
-- they were and the server compressed them (pglz): about 0.3 ms of server
-- time per acknowledgement on this project's 2-core bench machine, the
-- costliest statement of IMAP intake (benches/RESULTS.md, "session 11").
-- Now postdesk packs them with zstd (no dictionary) before they are sent.
--
-- `packed` says how `body` holds them: true = one zstd frame made by
-- postdesk's codec, false = as they were (rows written before V7, and the
-- empty body an erasure leaves).
ALTER TABLE outbox ADD COLUMN packed boolean NOT NULL DEFAULT false;

-- Packed values do not compress again: the server should not try.
ALTER TABLE outbox ALTER COLUMN body SET STORAGE EXTERNAL;
