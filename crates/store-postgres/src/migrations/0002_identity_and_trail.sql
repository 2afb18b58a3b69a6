-- retrace PostgreSQL store, schema 2: identity and the audit trail (issue 3),
-- the tables of the embedded store's schema 2, column for column.
--
-- Integers stand where SQLite has them (`account.disabled` is 0 or 1), so
-- that the tables digest the same on both stores and `retrace copy` can
-- prove a move of them.
--
-- Accounts, sessions, API tokens, login throttle state and idempotency keys
-- are state, not projections of the ledger: the audit does not rebuild them.
-- Every change to them is written with its audit trail entry in the same
-- transaction, so the trail tells how they came to be. Times are RFC 3339
-- text in UTC with milliseconds, so that they sort as text.

CREATE TABLE account (
    name         text COLLATE "C" PRIMARY KEY,
    role         text COLLATE "C" NOT NULL,
    enterprise   text COLLATE "C",
    password     text NOT NULL,
    disabled     integer NOT NULL CHECK (disabled IN (0, 1)),
    display_name text NOT NULL,
    language     text COLLATE "C" NOT NULL,
    created_at   text COLLATE "C" NOT NULL,
    updated_at   text COLLATE "C" NOT NULL
);
CREATE INDEX account_enterprise ON account (enterprise) WHERE enterprise IS NOT NULL;

-- Browser sessions, under the SHA-256 of their id: the id itself is never stored.
CREATE TABLE session (
    digest       text COLLATE "C" PRIMARY KEY,
    account      text COLLATE "C" NOT NULL REFERENCES account (name),
    role         text COLLATE "C" NOT NULL,
    created_at   text COLLATE "C" NOT NULL,
    last_seen_at text COLLATE "C" NOT NULL
);
CREATE INDEX session_account ON session (account);

-- API tokens, under their public id, with the SHA-256 of the whole token.
CREATE TABLE api_token (
    id         text COLLATE "C" PRIMARY KEY,
    digest     text COLLATE "C" NOT NULL,
    account    text COLLATE "C" NOT NULL REFERENCES account (name),
    role       text COLLATE "C" NOT NULL,
    enterprise text COLLATE "C",
    label      text NOT NULL,
    issued_by  text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    expires_at text COLLATE "C" NOT NULL,
    revoked_at text COLLATE "C"
);
CREATE INDEX api_token_account ON api_token (account);

-- Login throttle state per account name as typed and per source address.
CREATE TABLE login_throttle (
    key          text COLLATE "C" PRIMARY KEY,
    failures     integer NOT NULL,
    window_start text COLLATE "C",
    last_failure text COLLATE "C",
    locked_until text COLLATE "C"
);

-- Idempotency keys of recorded batches, per caller (`space`): the body's
-- SHA-256, the entries the batch became (`first`, `count`) and the size of
-- the checkpoint its receipts were made against, so that a retried request
-- — through any node — is answered with the same receipts.
CREATE TABLE idempotency (
    space      text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    body       bytea NOT NULL,
    first      bigint NOT NULL,
    count      bigint NOT NULL,
    size       bigint NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (space, key)
);

-- The audit trail: a second append-only Merkle log (retrace_store::trail).
-- `entry` holds the entry's canonical bytes and `leaf` its RFC 9162 leaf
-- hash; the other columns repeat what the entry says, for the auditors'
-- searches, and the audit checks that they agree. Not partitioned: a trail
-- entry is a few hundred bytes, and its searches are by account and index.
CREATE TABLE trail (
    idx          bigint PRIMARY KEY,
    time         text COLLATE "C" NOT NULL,
    account      text COLLATE "C",
    action       text COLLATE "C" NOT NULL,
    actor_region text COLLATE "C",
    region       text COLLATE "C",
    entry        bytea NOT NULL,
    leaf         bytea NOT NULL
);
CREATE INDEX trail_account ON trail (account, idx) WHERE account IS NOT NULL;

-- The enterprises each trail entry concerns.
CREATE TABLE trail_enterprise (
    enterprise text COLLATE "C" NOT NULL,
    idx        bigint NOT NULL,
    PRIMARY KEY (enterprise, idx)
);
CREATE INDEX trail_enterprise_idx ON trail_enterprise (idx);

-- The trail tree's complete subtrees from level 4 up, as for the ledger.
CREATE TABLE trail_node (
    level smallint NOT NULL CHECK (level >= 4),
    idx   bigint NOT NULL,
    hash  bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every signed checkpoint of the trail (origin `<log origin>/trail`).
CREATE TABLE trail_checkpoint (
    size bigint PRIMARY KEY,
    note bytea NOT NULL
);

CREATE TRIGGER trail_no_update BEFORE UPDATE ON trail FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_no_delete BEFORE DELETE ON trail FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_no_truncate BEFORE TRUNCATE ON trail FOR EACH STATEMENT EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_enterprise_no_update BEFORE UPDATE ON trail_enterprise FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_enterprise_no_delete BEFORE DELETE ON trail_enterprise FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_enterprise_no_truncate BEFORE TRUNCATE ON trail_enterprise FOR EACH STATEMENT EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_node_no_update BEFORE UPDATE ON trail_node FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_node_no_delete BEFORE DELETE ON trail_node FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_node_no_truncate BEFORE TRUNCATE ON trail_node FOR EACH STATEMENT EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_checkpoint_no_update BEFORE UPDATE ON trail_checkpoint FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_checkpoint_no_delete BEFORE DELETE ON trail_checkpoint FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER trail_checkpoint_no_truncate BEFORE TRUNCATE ON trail_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION retrace_append_only();

-- A queued request now carries the authority and write context of its
-- caller (retrace_store::write), so that the trail names who recorded a
-- forwarded batch and an idempotency key holds across nodes; a queued trail
-- event (a read, a login, an identity change made on another node) has no
-- batch.
ALTER TABLE capture_queue DROP COLUMN scope;
ALTER TABLE capture_queue ALTER COLUMN batch DROP NOT NULL;
ALTER TABLE capture_queue ADD COLUMN request bytea NOT NULL;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'retrace_sequencer') THEN
        GRANT SELECT, INSERT ON trail, trail_enterprise, trail_node, trail_checkpoint TO retrace_sequencer;
        GRANT SELECT, INSERT, UPDATE, DELETE ON account, session, api_token, login_throttle TO retrace_sequencer;
        GRANT SELECT, INSERT ON idempotency TO retrace_sequencer;
        GRANT SELECT ON account, session, api_token, login_throttle, idempotency, trail,
            trail_enterprise, trail_node, trail_checkpoint TO retrace_reader;
    END IF;
END
$$;
