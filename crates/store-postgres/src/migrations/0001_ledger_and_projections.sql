-- retrace PostgreSQL store, schema 1: the tables of the embedded store's
-- schema 1, column for column, so that both stores' projections compare row
-- for row; what differs is said where it differs.
--
-- Every text column is COLLATE "C": keys sort byte by byte, as SQLite's
-- binary collation sorts them, whatever the database's locale, so that pages
-- and their cursors are the same on both stores.
--
-- The ledger (leaf, ledger, tree_node, checkpoint) is the truth and is
-- append-only: triggers refuse UPDATE, DELETE and TRUNCATE, for every role,
-- the owner's included. Every other table is a projection of the ledger
-- (DESIGN.md §3) that the audit rebuilds and compares row by row.

CREATE FUNCTION retrace_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % rows are never %', TG_TABLE_NAME, lower(TG_OP)
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- One row per entry: its RFC 9162 leaf hash, and the month its ledger row
-- is filed under. Narrow and unpartitioned: it makes the ledger index
-- unique across partitions, it is the level 0 of the tree that proofs read,
-- and the audit recomputes the root from one scan of it. (SQLite keeps the
-- leaf on the ledger row, with a covering index for the same scan.)
CREATE TABLE leaf (
    idx   bigint PRIMARY KEY,
    month text COLLATE "C" NOT NULL,
    hash  bytea NOT NULL
);

-- The entries: canonical bytes, the record they commit to (its canonical
-- JSON, with its salt; the commitment's field is `record`), and the public
-- columns the filters use. Partitioned by the month of the record time
-- (`YYYY-MM`, UTC), one partition a month, made by the sequencer when a month
-- begins: a month that is over is never written again, so it can be backed
-- up, moved to other storage or detached for archiving on its own, and the
-- indexes being written stay the size of one month. The ledger is kept
-- permanently (DESIGN.md §2), so there is no dropping of old partitions.
CREATE TABLE ledger (
    idx         bigint NOT NULL,
    month       text COLLATE "C" NOT NULL,
    record_time text COLLATE "C" NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    enterprise  text COLLATE "C" NOT NULL,
    entry       bytea NOT NULL,
    salt        bytea NOT NULL,
    record      bytea NOT NULL,
    PRIMARY KEY (idx, month)
) PARTITION BY LIST (month);
-- An enterprise's own entries, in ledger order (enterprise scope, entry filter).
CREATE INDEX ledger_enterprise ON ledger (enterprise, idx);

-- Makes the ledger partition of a month if it does not exist yet. The
-- sequencer calls it in the transaction that appends the month's first entry.
CREATE FUNCTION retrace_ledger_month(m text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF m !~ '^[0-9]{4}-[0-9]{2}$' THEN
        RAISE EXCEPTION 'not a month: %', m;
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF ledger FOR VALUES IN (%L)',
                   'ledger_' || replace(m, '-', '_'), m);
END
$$;

-- Complete subtrees from level 4 (16 leaves) up; the levels below are
-- recomputed from at most eight leaves when a proof needs them.
CREATE TABLE tree_node (
    level smallint NOT NULL CHECK (level >= 4),
    idx   bigint   NOT NULL,
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every signed checkpoint handed out (C2SP tlog-checkpoint in a signed note).
CREATE TABLE checkpoint (
    size bigint PRIMARY KEY,
    note bytea  NOT NULL
);

CREATE TRIGGER leaf_no_update BEFORE UPDATE ON leaf FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER leaf_no_delete BEFORE DELETE ON leaf FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER leaf_no_truncate BEFORE TRUNCATE ON leaf FOR EACH STATEMENT EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER tree_node_no_update BEFORE UPDATE ON tree_node FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER tree_node_no_delete BEFORE DELETE ON tree_node FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER tree_node_no_truncate BEFORE TRUNCATE ON tree_node FOR EACH STATEMENT EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON checkpoint FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON checkpoint FOR EACH ROW EXECUTE FUNCTION retrace_append_only();
CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON checkpoint FOR EACH STATEMENT EXECUTE FUNCTION retrace_append_only();

-- The register.
CREATE TABLE enterprise (
    uscc text COLLATE "C" PRIMARY KEY,
    grp  text COLLATE "C",
    seat text COLLATE "C" NOT NULL,
    body text COLLATE "C" NOT NULL
);

CREATE TABLE facility (
    id       text COLLATE "C" PRIMARY KEY,
    operator text COLLATE "C" NOT NULL REFERENCES enterprise (uscc),
    region   text COLLATE "C" NOT NULL,
    body     text COLLATE "C" NOT NULL
);

CREATE TABLE designation (
    enterprise text COLLATE "C" NOT NULL REFERENCES enterprise (uscc),
    category   text COLLATE "C" NOT NULL,
    valid_from text COLLATE "C" NOT NULL,
    valid_to   text COLLATE "C" NOT NULL,
    document   text COLLATE "C" NOT NULL,
    PRIMARY KEY (enterprise, category, valid_from)
);

-- The seat and every facility region of an enterprise: what a regional scope
-- filters on (DESIGN.md §2).
CREATE TABLE enterprise_place (
    uscc   text COLLATE "C" NOT NULL REFERENCES enterprise (uscc),
    region text COLLATE "C" NOT NULL,
    PRIMARY KEY (uscc, region)
);
CREATE INDEX enterprise_place_region ON enterprise_place (region text_pattern_ops);

-- Lots, by an id the sequencer assigns in creation order (SQLite's next
-- rowid), so that both stores and the audit's replay give every lot the same one.
CREATE TABLE lot (
    id            bigint PRIMARY KEY,
    code          text COLLATE "C" NOT NULL UNIQUE,
    product       text COLLATE "C" NOT NULL,
    measurement   text COLLATE "C" NOT NULL,
    distribution  text COLLATE "C",
    feed_origin   text COLLATE "C" NOT NULL,
    producer      text COLLATE "C" NOT NULL,
    facility      text COLLATE "C",
    created_by    bigint NOT NULL,
    created_at_ms bigint NOT NULL,
    reo           bigint NOT NULL,
    elements      text COLLATE "C"
);

-- Every lot an entry names or moves: the one index by lot.
CREATE TABLE entry_lot (
    lot bigint NOT NULL,
    idx bigint NOT NULL,
    PRIMARY KEY (lot, idx)
);

CREATE TABLE movement (
    entry    bigint NOT NULL,
    n        integer NOT NULL,
    lot      bigint NOT NULL,
    holder   text COLLATE "C" NOT NULL,
    owner    text COLLATE "C" NOT NULL,
    mass     bigint NOT NULL,
    reo      bigint NOT NULL,
    event_ms bigint NOT NULL,
    PRIMARY KEY (entry, n)
);

CREATE TABLE position (
    lot    bigint NOT NULL,
    holder text COLLATE "C" NOT NULL,
    owner  text COLLATE "C" NOT NULL,
    mass   bigint NOT NULL,
    reo    bigint NOT NULL,
    PRIMARY KEY (lot, holder, owner)
);
CREATE INDEX position_holder ON position (holder);
CREATE INDEX position_owner ON position (owner) WHERE owner <> holder;

CREATE TABLE lineage_edge (
    entry    bigint NOT NULL,
    n        integer NOT NULL,
    from_lot bigint NOT NULL,
    to_lot   bigint NOT NULL,
    mass     bigint NOT NULL,
    reo      bigint NOT NULL,
    PRIMARY KEY (entry, n)
);

CREATE TABLE pool_member (
    entry    bigint NOT NULL,
    n        integer NOT NULL,
    facility text COLLATE "C" NOT NULL,
    month    text COLLATE "C" NOT NULL,
    process  text COLLATE "C" NOT NULL,
    lot      bigint NOT NULL,
    role     text COLLATE "C" NOT NULL,
    mass     bigint NOT NULL,
    reo      bigint NOT NULL,
    elements text COLLATE "C",
    PRIMARY KEY (entry, n)
);
CREATE INDEX pool_member_pool ON pool_member (facility, process, month, entry);

CREATE TABLE process_month (
    facility     text COLLATE "C" NOT NULL,
    process      text COLLATE "C" NOT NULL,
    month        text COLLATE "C" NOT NULL,
    in_reo       bigint NOT NULL,
    out_reo      bigint NOT NULL,
    in_known     bigint NOT NULL,
    out_known    bigint NOT NULL,
    in_elements  text COLLATE "C" NOT NULL,
    out_elements text COLLATE "C" NOT NULL,
    in_ionic     bigint NOT NULL,
    transforms   bigint NOT NULL,
    PRIMARY KEY (facility, process, month)
);

CREATE TABLE shipment (
    sender           text COLLATE "C" NOT NULL,
    number           text COLLATE "C" NOT NULL,
    ship_entry       bigint,
    ship_lot         bigint,
    ship_receiver    text COLLATE "C",
    ship_mass        bigint,
    ship_ms          bigint,
    receive_entry    bigint,
    receive_lot      bigint,
    receive_receiver text COLLATE "C",
    receive_mass     bigint,
    receive_grade    bigint,
    receive_ms       bigint,
    PRIMARY KEY (sender, number)
);

CREATE TABLE flag (
    key         text COLLATE "C" PRIMARY KEY,
    rule        text COLLATE "C" NOT NULL,
    enterprise  text COLLATE "C" NOT NULL,
    facility    text COLLATE "C",
    lot         text COLLATE "C",
    month       text COLLATE "C" NOT NULL,
    entries     text COLLATE "C" NOT NULL,
    detail      text COLLATE "C" NOT NULL,
    occurrences bigint NOT NULL
);

-- Entries declared wrong, with the correction that did it.
CREATE TABLE entry_status (
    idx          bigint PRIMARY KEY REFERENCES leaf (idx),
    corrected_by bigint NOT NULL REFERENCES leaf (idx)
);

-- Least privilege, besides the triggers: the sequencer works as the role
-- retrace_sequencer, which may only read and append to the ledger (SELECT
-- and INSERT on leaf, ledger, tree_node and checkpoint; no UPDATE, DELETE,
-- TRUNCATE), and readers as retrace_reader, which may only read. Roles are
-- the cluster's, so they are made once and granted in every database;
-- where the migrating role may not make roles, the store runs as that role
-- and the triggers alone guard the ledger (the audit says so).
DO $$
BEGIN
    BEGIN
        CREATE ROLE retrace_sequencer NOLOGIN;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN RAISE NOTICE 'cannot create role retrace_sequencer';
    END;
    BEGIN
        CREATE ROLE retrace_reader NOLOGIN;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN RAISE NOTICE 'cannot create role retrace_reader';
    END;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'retrace_sequencer') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' TO retrace_sequencer, retrace_reader';
        GRANT SELECT, INSERT ON leaf, ledger, tree_node, checkpoint TO retrace_sequencer;
        GRANT SELECT, INSERT, UPDATE, DELETE ON enterprise, facility, designation, enterprise_place, lot,
            entry_lot, movement, position, lineage_edge, pool_member, process_month, shipment, flag,
            entry_status TO retrace_sequencer;
        GRANT SELECT ON leaf, ledger, tree_node, checkpoint, enterprise, facility, designation,
            enterprise_place, lot, entry_lot, movement, position, lineage_edge, pool_member,
            process_month, shipment, flag, entry_status TO retrace_reader, retrace_sequencer;
        GRANT EXECUTE ON FUNCTION retrace_ledger_month(text) TO retrace_sequencer;
    END IF;
END
$$;

-- Making a partition needs the ledger's owner: the function runs as its
-- owner, only for the sequencer, with the search path it was made with.
ALTER FUNCTION retrace_ledger_month(text) SECURITY DEFINER SET search_path FROM CURRENT;
REVOKE EXECUTE ON FUNCTION retrace_ledger_month(text) FROM PUBLIC;

-- Capture through any node: a node that does not hold the sequencer lock
-- queues the batches it is given here, and the sequencer takes them into its
-- next group commit; the outcome (receipts and checkpoint, or the refusal)
-- is written in the same transaction as the entries and the queue row is
-- deleted in it, so a queued batch is sequenced exactly once, whichever
-- sequencer takes it. Neither table is part of the ledger or a projection.
CREATE TABLE capture_queue (
    id        bigserial PRIMARY KEY,
    scope     bytea NOT NULL,
    batch     bytea NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE capture_result (
    id      bigint PRIMARY KEY,
    outcome bytea NOT NULL
);
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'retrace_sequencer') THEN
        GRANT SELECT, INSERT, DELETE ON capture_queue, capture_result TO retrace_sequencer;
        GRANT USAGE ON SEQUENCE capture_queue_id_seq TO retrace_sequencer;
    END IF;
END
$$;
