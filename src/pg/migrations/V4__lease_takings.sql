-- postdesk's PostgreSQL schema, version 4 (lease takeovers; src/pg/lease.rs).
-- How fast a dead node's inbox was taken over is a promise (within the
-- lease TTL plus one retry), so the database keeps the evidence in its own
-- clock: each taking stamps when it happened and what it replaced (the
-- previous holder and when that holder's lease ran out, or was released),
-- and is logged in `lease_takings`, keyed by lease and fence. `status`
-- and the tests read it; clocks of the nodes play no part.
ALTER TABLE leases
    ADD COLUMN taken timestamptz,
    ADD COLUMN previous_holder text,
    ADD COLUMN previous_expires timestamptz;

CREATE TABLE lease_takings (
    name text NOT NULL,
    fence bigint NOT NULL,
    holder text NOT NULL,
    taken timestamptz NOT NULL,
    previous_holder text,
    previous_expires timestamptz,
    PRIMARY KEY (name, fence)
);
