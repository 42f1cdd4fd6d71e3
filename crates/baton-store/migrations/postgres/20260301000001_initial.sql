-- Baton's first schema for PostgreSQL: the same tables and text forms as
-- the SQLite schema, so that both back ends read the same rows.
--
-- Timestamps are RFC 3339 text in UTC with nine fractional digits rather
-- than timestamptz, which keeps only microseconds: an event must read back
-- exactly as it was written. Ids and timestamps use the "C" collation, so
-- that they sort byte by byte, as in SQLite, whatever the server's locale;
-- then text order is time order.
-- JSON columns are `json`, not `jsonb`, so that they hold the text exactly
-- as serialised (jsonb refuses some escapes that serde_json writes).

CREATE TABLE conversations (
    id             TEXT COLLATE "C" PRIMARY KEY,
    customer_id    TEXT COLLATE "C" NOT NULL,
    channel        TEXT NOT NULL,
    stage          TEXT NOT NULL,
    assigned_agent TEXT COLLATE "C",
    queue          TEXT,
    priority       BIGINT NOT NULL,
    reason         TEXT,
    intent         TEXT,
    created_at     TEXT COLLATE "C" NOT NULL,
    stage_since    TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT COLLATE "C" NOT NULL,
    last_seq       BIGINT NOT NULL,
    preview        TEXT
);

CREATE INDEX conversations_queue ON conversations (stage, priority DESC, stage_since);
CREATE INDEX conversations_customer ON conversations (customer_id, created_at);
CREATE INDEX conversations_agent ON conversations (assigned_agent)
    WHERE assigned_agent IS NOT NULL;

CREATE TABLE events (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    seq             BIGINT NOT NULL CHECK (seq > 0),
    at              TEXT COLLATE "C" NOT NULL,
    actor           TEXT NOT NULL,
    type            TEXT NOT NULL,
    -- The idempotency key of a customer's message, NULL for every other event.
    client_id       TEXT,
    -- The whole event as serialised; the columns above are copies of its
    -- fields for lookups and constraints.
    body            JSON NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (conversation_id, seq)
);

CREATE UNIQUE INDEX events_client_id ON events (conversation_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE INDEX events_at ON events (at);

CREATE TABLE customers (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT,
    email       TEXT,
    -- The e-mail lower-cased by Baton, the same way on every back end.
    email_key   TEXT,
    external_id TEXT,
    profile     JSON NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);

CREATE INDEX customers_email ON customers (email_key) WHERE email_key IS NOT NULL;
CREATE INDEX customers_external_id ON customers (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE agents (
    id            TEXT COLLATE "C" PRIMARY KEY,
    email         TEXT NOT NULL,
    -- The login lower-cased by Baton; unique, so that case cannot make a twin.
    email_key     TEXT COLLATE "C" NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    status        TEXT NOT NULL,
    capacity      BIGINT NOT NULL CHECK (capacity >= 0),
    skills        JSON NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL
);

CREATE UNIQUE INDEX agents_email_key ON agents (email_key);

CREATE TABLE tokens (
    hash         TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C"
);
