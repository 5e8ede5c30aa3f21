-- postdesk's PostgreSQL schema, version 1. Why it looks like this:
-- src/pg/schema.rs. Keys that come from mail (Message-IDs, addresses) are
-- bytea: text cannot hold NUL, which a hostile header can.

-- Counters, notices given, the token secret: small values by name.
CREATE TABLE meta (
    key bytea PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE tickets (
    number bigint PRIMARY KEY CHECK (number > 0),
    status text NOT NULL,
    queue text NOT NULL,
    assignee text,
    requester text NOT NULL,
    created timestamptz NOT NULL,
    updated timestamptz NOT NULL,
    timer_due timestamptz,
    record json NOT NULL
);
CREATE INDEX tickets_updated ON tickets (updated DESC, number DESC);
CREATE INDEX tickets_status ON tickets (status, updated DESC, number DESC);
CREATE INDEX tickets_queue ON tickets (queue, updated DESC, number DESC);
CREATE INDEX tickets_assignee ON tickets (assignee, updated DESC, number DESC)
    WHERE assignee IS NOT NULL;
CREATE INDEX tickets_requester ON tickets (requester, updated DESC, number DESC);
CREATE INDEX tickets_timer ON tickets (timer_due, number) WHERE timer_due IS NOT NULL;

CREATE TABLE messages (
    ticket bigint NOT NULL,
    seq bigint NOT NULL,
    record json NOT NULL,
    raw bytea NOT NULL,
    PRIMARY KEY (ticket, seq)
);

CREATE TABLE msgids (
    key bytea PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('stored', 'sent', 'referenced', 'conversation')),
    ticket bigint NOT NULL
);
CREATE INDEX msgids_ticket ON msgids (ticket);

CREATE TABLE customers (
    email bytea NOT NULL,
    ticket bigint NOT NULL,
    PRIMARY KEY (email, ticket)
);

CREATE TABLE quarantine (
    id bytea PRIMARY KEY,
    received timestamptz NOT NULL,
    record json NOT NULL
);
CREATE TABLE quarantine_raw (
    id bytea PRIMARY KEY,
    raw bytea NOT NULL
);

CREATE TABLE cursors (
    source text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE outbox (
    id bigint PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    next_attempt timestamptz NOT NULL,
    ticket text,
    record json NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt, id) WHERE state = 'queued';

CREATE TABLE notified (
    message_id bytea PRIMARY KEY,
    agent text NOT NULL,
    ticket bigint,
    seen bigint
);

CREATE TABLE guard (
    kind text NOT NULL,
    email bytea NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (kind, email)
);

CREATE TABLE erasures (
    pseudonym text NOT NULL,
    at timestamptz NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (pseudonym, at)
);

-- For several daemons on one database (not used yet): who is alive, and
-- who holds which inbox, with a fencing token that grows with each taking.
CREATE TABLE nodes (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    version text NOT NULL,
    started timestamptz NOT NULL,
    seen timestamptz NOT NULL
);
CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text REFERENCES nodes ON DELETE SET NULL,
    fence bigint NOT NULL DEFAULT 0,
    expires timestamptz NOT NULL
);
