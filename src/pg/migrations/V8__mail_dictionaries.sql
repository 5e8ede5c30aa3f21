-- postdesk's PostgreSQL schema, version 8 (mail dictionaries;
-- src/pg/engine/dictionaries.rs).
-- Since V6 each message is a zstd frame made without a dictionary: 0.55x
-- the mail on the bench corpus. A dictionary trained from the desk's own
-- mail (as sled has one) packs typical 2-20 KB support mail about 40%
-- smaller again (benches/RESULTS.md, session 11).
--
-- `mail_dicts` holds every dictionary a row may be packed with, by zstd's
-- dictionary id (which each packed frame names, so a reader never needs
-- the column below to decode). `current` marks the one new mail is packed
-- with; at most one row has it (the index below), so when two nodes train
-- at once the first insert wins and the other adopts it. A dictionary is
-- made of customers' mail: an erasure makes a new one current, re-packs
-- every row packed with an older one, and deletes the older ones.
CREATE TABLE mail_dicts (
    id      bigint PRIMARY KEY,
    dict    bytea NOT NULL,
    trained timestamptz NOT NULL DEFAULT now(),
    current boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX mail_dicts_one_current ON mail_dicts ((true)) WHERE current;

-- The dictionary a packed row's frame names (NULL: none, or a row written
-- before V8): "rows still packed with dictionary X" is a query. No foreign
-- key (it would cost a lookup per inserted row): dictionaries are deleted
-- only by a statement that checks no row names them.
ALTER TABLE messages ADD COLUMN dict bigint;
