-- retrace embedded store, schema 2: identity and the audit trail (issue 3).
--
-- Accounts, sessions, API tokens, login throttle state and idempotency keys
-- are state, not projections of the ledger: the audit does not rebuild them.
-- Every change to them is written with its audit trail entry in the same
-- transaction, so the trail tells how they came to be.
--
-- Times are RFC 3339 text in UTC with milliseconds (codec::RecordTime), so
-- that they sort as text.

-- Accounts. `enterprise` repeats the enterprise of an enterprise role, for
-- a manager's reach (its own enterprise's accounts).
CREATE TABLE account (
    name         TEXT    PRIMARY KEY,
    role         TEXT    NOT NULL,
    enterprise   TEXT,
    password     TEXT    NOT NULL,
    disabled     INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    display_name TEXT    NOT NULL,
    language     TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX account_enterprise ON account (enterprise) WHERE enterprise IS NOT NULL;

-- Browser sessions, under the SHA-256 of their id: the id itself is never stored.
CREATE TABLE session (
    digest       TEXT PRIMARY KEY,
    account      TEXT NOT NULL REFERENCES account (name),
    role         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX session_account ON session (account);

-- API tokens, under their public id, with the SHA-256 of the whole token.
CREATE TABLE api_token (
    id         TEXT PRIMARY KEY,
    digest     TEXT NOT NULL,
    account    TEXT NOT NULL REFERENCES account (name),
    role       TEXT NOT NULL,
    enterprise TEXT,
    label      TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
) WITHOUT ROWID;
CREATE INDEX api_token_account ON api_token (account);

-- Login throttle state per account name as typed and per source address.
CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TEXT,
    last_failure TEXT,
    locked_until TEXT
) WITHOUT ROWID;

-- Idempotency keys of recorded batches, per caller (`space`): the body's
-- SHA-256, the entries the batch became (`first`, `count`) and the size of
-- the checkpoint its receipts were made against, so that a retried request
-- is answered with the same receipts.
CREATE TABLE idempotency (
    space      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    first      INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (space, key)
) WITHOUT ROWID;

-- The audit trail: a second append-only Merkle log (retrace_store::trail).
-- `entry` holds the entry's canonical bytes (kind `trail.<action>`, the
-- event as its public part) and `leaf` its RFC 9162 leaf hash; the other
-- columns repeat what the entry says, for the auditors' searches, and the
-- audit checks that they agree.
CREATE TABLE trail (
    idx          INTEGER PRIMARY KEY,
    time         TEXT    NOT NULL,
    account      TEXT,
    action       TEXT    NOT NULL,
    -- The region of the official's role, or the seat of the enterprise
    -- account's enterprise at the time: whose auditors see the entry.
    actor_region TEXT,
    -- The region a regional read covered.
    region       TEXT,
    entry        BLOB    NOT NULL,
    leaf         BLOB    NOT NULL
);
CREATE INDEX trail_account ON trail (account, idx) WHERE account IS NOT NULL;
CREATE INDEX trail_leaf ON trail (idx, leaf);

-- The enterprises each trail entry concerns (the event's `enterprises`, and
-- the enterprise of an enterprise account), for searches by enterprise and
-- by supervised region.
CREATE TABLE trail_enterprise (
    enterprise TEXT    NOT NULL,
    idx        INTEGER NOT NULL,
    PRIMARY KEY (enterprise, idx)
) WITHOUT ROWID;
CREATE INDEX trail_enterprise_idx ON trail_enterprise (idx);

-- The trail tree's complete subtrees from level 4 up, as for the ledger.
CREATE TABLE trail_node (
    level INTEGER NOT NULL CHECK (level >= 4),
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Every signed checkpoint of the trail (origin `<log origin>/trail`).
CREATE TABLE trail_checkpoint (
    size INTEGER PRIMARY KEY,
    note BLOB    NOT NULL
);

CREATE TRIGGER trail_no_update BEFORE UPDATE ON trail
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: trail rows are never updated'); END;
CREATE TRIGGER trail_no_delete BEFORE DELETE ON trail
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: trail rows are never deleted'); END;
CREATE TRIGGER trail_enterprise_no_update BEFORE UPDATE ON trail_enterprise
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: its enterprise rows are never updated'); END;
CREATE TRIGGER trail_enterprise_no_delete BEFORE DELETE ON trail_enterprise
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: its enterprise rows are never deleted'); END;
CREATE TRIGGER trail_node_no_update BEFORE UPDATE ON trail_node
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: tree nodes are never updated'); END;
CREATE TRIGGER trail_node_no_delete BEFORE DELETE ON trail_node
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: tree nodes are never deleted'); END;
CREATE TRIGGER trail_checkpoint_no_update BEFORE UPDATE ON trail_checkpoint
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: checkpoints are never updated'); END;
CREATE TRIGGER trail_checkpoint_no_delete BEFORE DELETE ON trail_checkpoint
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: checkpoints are never deleted'); END;
