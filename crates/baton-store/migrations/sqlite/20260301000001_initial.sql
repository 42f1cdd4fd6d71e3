-- Baton's first schema for SQLite.
--
-- Timestamps are RFC 3339 text in UTC with nine fractional digits, so that
-- text order is time order and a value reads back exactly as written.
-- JSON is stored as text and checked on the way in.

CREATE TABLE conversations (
    id             TEXT PRIMARY KEY NOT NULL,
    customer_id    TEXT NOT NULL,
    channel        TEXT NOT NULL,
    stage          TEXT NOT NULL,
    assigned_agent TEXT,
    queue          TEXT,
    priority       INTEGER NOT NULL,
    reason         TEXT,
    intent         TEXT,
    created_at     TEXT NOT NULL,
    stage_since    TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    last_seq       INTEGER NOT NULL,
    preview        TEXT
);

CREATE INDEX conversations_queue ON conversations (stage, priority DESC, stage_since);
CREATE INDEX conversations_customer ON conversations (customer_id, created_at);
CREATE INDEX conversations_agent ON conversations (assigned_agent)
    WHERE assigned_agent IS NOT NULL;

CREATE TABLE events (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    type            TEXT NOT NULL,
    -- The idempotency key of a customer's message, NULL for every other event.
    client_id       TEXT,
    -- The whole event as serialised; the columns above are copies of its
    -- fields for lookups and constraints.
    body            TEXT NOT NULL CHECK (json_valid(body)),
    PRIMARY KEY (conversation_id, seq)
);

CREATE UNIQUE INDEX events_client_id ON events (conversation_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE INDEX events_at ON events (at);

CREATE TABLE customers (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT,
    email       TEXT,
    -- The e-mail lower-cased by Baton (Unicode-aware, unlike SQLite's lower()).
    email_key   TEXT,
    external_id TEXT,
    profile     TEXT NOT NULL CHECK (json_valid(profile)),
    created_at  TEXT NOT NULL
);

CREATE INDEX customers_email ON customers (email_key) WHERE email_key IS NOT NULL;
CREATE INDEX customers_external_id ON customers (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE agents (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    -- The login lower-cased by Baton; unique, so that case cannot make a twin.
    email_key     TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    status        TEXT NOT NULL,
    capacity      INTEGER NOT NULL CHECK (capacity >= 0),
    skills        TEXT NOT NULL CHECK (json_valid(skills)),
    created_at    TEXT NOT NULL
);

CREATE UNIQUE INDEX agents_email_key ON agents (email_key);

CREATE TABLE tokens (
    hash         TEXT PRIMARY KEY NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT
);
