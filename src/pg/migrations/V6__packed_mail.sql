-- postdesk's PostgreSQL schema, version 6 (mail packed by postdesk;
-- src/pg/mail.rs).
-- Until V5 a message's mail went to `raw` as received and the server
-- compressed values over ~2 KB itself (pglz TOAST): on 20,000 support
-- mails of 2-20 KB the store took 0.68x the mail, the server's
-- compression and its writes were most of an import's time, and mail
-- under 2 KB was never compressed. Now postdesk compresses each message
-- in intake's parse stage (parallel, off the serial write) with zstd and
-- no dictionary (several nodes read each other's rows; a dictionary made
-- of customers' mail would be one more thing an erasure must rewrite),
-- and the server writes the smaller value as it is.
--
-- `packed` says how `raw` holds the mail: true = one zstd frame made by
-- postdesk's codec without a dictionary, false = the mail as received
-- (rows written before V6, which keep their TOAST compression and read as
-- before). A flag and not zstd's magic number: hostile mail may start with
-- those bytes.
ALTER TABLE messages ADD COLUMN packed boolean NOT NULL DEFAULT false;

-- Packed values do not compress again: the server should not try. Only
-- values written from now on are affected.
ALTER TABLE messages ALTER COLUMN raw SET STORAGE EXTERNAL;
