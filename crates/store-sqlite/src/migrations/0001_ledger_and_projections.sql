-- retrace embedded store, schema 1.
--
-- The ledger (ledger, ledger_opening, tree_node, checkpoint) is the truth and
-- is append-only: triggers refuse UPDATE and DELETE. Every other table is a
-- projection of the ledger (DESIGN.md §3) that the audit rebuilds and compares
-- row by row, so each has a primary key that orders it.
--
-- Secondary indexes are few on purpose: every one costs a B-tree insert per
-- appended record. Most tables are keyed by ledger index and so grow at their
-- right edge; lookups by lot go through entry_lot. Lots are named in the
-- projections by an integer assigned in creation order (lot.id), not by
-- their code: a lot is busiest soon after it is made, so the rows keyed by
-- lot land near the right edge of their B-trees instead of at random places
-- in a tree of 40-byte text keys, and each row is smaller.

-- One row per entry: the entry's canonical bytes and RFC 9162 leaf hash, and
-- beside them the one confidential value the entry commits to — the record's
-- canonical JSON — with its salt (DESIGN.md §3; the commitment's field name
-- is `record`). The record is opened on the entry's own row so that
-- appending an entry is one B-tree insert, not two. `record_time`, `kind`
-- and `enterprise` repeat what the entry's public part says, for the filters
-- and the enterprise index; the audit checks that they agree.
CREATE TABLE ledger (
    idx         INTEGER PRIMARY KEY,
    record_time TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    enterprise  TEXT    NOT NULL,
    entry       BLOB    NOT NULL,
    leaf        BLOB    NOT NULL,
    salt        BLOB    NOT NULL,
    record      BLOB    NOT NULL
);
-- An enterprise's own entries, in ledger order (enterprise scope, entry filter).
CREATE INDEX ledger_enterprise ON ledger (enterprise, idx);
-- The leaves alone, in ledger order: the audit recomputes the root from one
-- narrow scan of this covering index instead of reading every wide ledger row.
-- It grows at its right edge, so an append costs one sequential index write.
CREATE INDEX ledger_leaf ON ledger (idx, leaf);

-- Complete subtrees of the RFC 9162 tree from level 4 (16 leaves) up, as
-- retrace_ledger::tree::Frontier::push returns them. The leaves (level 0)
-- are ledger.leaf, and the levels between are recomputed from at most eight
-- leaves when a proof needs them: storing every level would cost a row per
-- entry, these cost one per sixteen.
CREATE TABLE tree_node (
    level INTEGER NOT NULL CHECK (level >= 4),
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Every signed checkpoint handed out (C2SP tlog-checkpoint in a signed note).
CREATE TABLE checkpoint (
    size INTEGER PRIMARY KEY,
    note BLOB    NOT NULL
);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: ledger rows are never updated'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: ledger rows are never deleted'); END;
CREATE TRIGGER tree_node_no_update BEFORE UPDATE ON tree_node
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: tree nodes are never updated'); END;
CREATE TRIGGER tree_node_no_delete BEFORE DELETE ON tree_node
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: tree nodes are never deleted'); END;
CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON checkpoint
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: checkpoints are never updated'); END;
CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON checkpoint
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: checkpoints are never deleted'); END;

-- The register.
CREATE TABLE enterprise (
    uscc  TEXT PRIMARY KEY,
    grp   TEXT,
    seat  TEXT NOT NULL,
    body  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE facility (
    id       TEXT PRIMARY KEY,
    operator TEXT NOT NULL REFERENCES enterprise (uscc),
    region   TEXT NOT NULL,
    body     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE designation (
    enterprise TEXT NOT NULL REFERENCES enterprise (uscc),
    category   TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to   TEXT NOT NULL,
    document   TEXT NOT NULL,
    PRIMARY KEY (enterprise, category, valid_from)
) WITHOUT ROWID;

-- The seat and every facility region of an enterprise: what a regional scope filters on
-- (a regulator supervises an enterprise whose seat or any facility lies in its region, DESIGN.md §2).
CREATE TABLE enterprise_place (
    uscc   TEXT NOT NULL REFERENCES enterprise (uscc),
    region TEXT NOT NULL,
    PRIMARY KEY (uscc, region)
) WITHOUT ROWID;

-- Lots and what happened to them. `id` is assigned in creation order (the
-- next rowid), so the live store and the audit's replay give every lot the
-- same one; every other table names a lot by it.
CREATE TABLE lot (
    id            INTEGER PRIMARY KEY,
    code          TEXT    NOT NULL UNIQUE,
    product       TEXT    NOT NULL,
    measurement   TEXT    NOT NULL,
    distribution  TEXT,
    feed_origin   TEXT    NOT NULL,
    producer      TEXT    NOT NULL,
    facility      TEXT,
    created_by    INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    reo           INTEGER NOT NULL,
    elements      TEXT
);

-- Every lot an entry names or moves: the one index by lot, through which
-- stock history, lineage, pools and custody of a lot are found.
CREATE TABLE entry_lot (
    lot INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (lot, idx)
) WITHOUT ROWID;

CREATE TABLE movement (
    entry    INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    lot      INTEGER NOT NULL,
    holder   TEXT    NOT NULL,
    owner    TEXT    NOT NULL,
    mass     INTEGER NOT NULL,
    reo      INTEGER NOT NULL,
    event_ms INTEGER NOT NULL,
    PRIMARY KEY (entry, n)
) WITHOUT ROWID;

CREATE TABLE position (
    lot    INTEGER NOT NULL,
    holder TEXT    NOT NULL,
    owner  TEXT    NOT NULL,
    mass   INTEGER NOT NULL,
    reo    INTEGER NOT NULL,
    PRIMARY KEY (lot, holder, owner)
) WITHOUT ROWID;
-- Stock of one enterprise (enterprise, group and regional scopes; holder filter).
CREATE INDEX position_holder ON position (holder);
-- Stock an enterprise owns at another's (tolling, title passed in a
-- warehouse): the owner side of the enterprise scope. Positions held by
-- their owner, nearly all of them, are found through position_holder, so
-- this index leaves them out and costs nothing when they are written.
CREATE INDEX position_owner ON position (owner) WHERE owner <> holder;

CREATE TABLE lineage_edge (
    entry    INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    from_lot INTEGER NOT NULL,
    to_lot   INTEGER NOT NULL,
    mass     INTEGER NOT NULL,
    reo      INTEGER NOT NULL,
    PRIMARY KEY (entry, n)
) WITHOUT ROWID;

CREATE TABLE pool_member (
    entry    INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    facility TEXT    NOT NULL,
    month    TEXT    NOT NULL,
    process  TEXT    NOT NULL,
    lot      INTEGER NOT NULL,
    role     TEXT    NOT NULL,
    mass     INTEGER NOT NULL,
    reo      INTEGER NOT NULL,
    elements TEXT,
    PRIMARY KEY (entry, n)
) WITHOUT ROWID;
-- A facility-month pool's members in ledger order (trace attribution, DESIGN.md §2).
CREATE INDEX pool_member_pool ON pool_member (facility, process, month, entry);

CREATE TABLE process_month (
    facility     TEXT    NOT NULL,
    process      TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    in_reo       INTEGER NOT NULL,
    out_reo      INTEGER NOT NULL,
    in_known     INTEGER NOT NULL,
    out_known    INTEGER NOT NULL,
    in_elements  TEXT    NOT NULL,
    out_elements TEXT    NOT NULL,
    in_ionic     INTEGER NOT NULL,
    transforms   INTEGER NOT NULL,
    PRIMARY KEY (facility, process, month)
) WITHOUT ROWID;

-- Both sides of a shipment, matched by the sender's number; a side's
-- columns are NULL until it is recorded (its entry says whether it is).
-- Masses in grams, the grade in ppm, lots by lot.id: plain columns rather
-- than a JSON object per side, a third of the bytes and nothing to parse.
CREATE TABLE shipment (
    sender           TEXT    NOT NULL,
    number           TEXT    NOT NULL,
    ship_entry       INTEGER,
    ship_lot         INTEGER,
    ship_receiver    TEXT,
    ship_mass        INTEGER,
    ship_ms          INTEGER,
    receive_entry    INTEGER,
    receive_lot      INTEGER,
    receive_receiver TEXT,
    receive_mass     INTEGER,
    receive_grade    INTEGER,
    receive_ms       INTEGER,
    PRIMARY KEY (sender, number)
) WITHOUT ROWID;

-- A rule broken record by record at one facility is one flag per enterprise,
-- facility and month; `occurrences` counts the records behind it beyond
-- those `entries` lists.
CREATE TABLE flag (
    key         TEXT    PRIMARY KEY,
    rule        TEXT    NOT NULL,
    enterprise  TEXT    NOT NULL,
    facility    TEXT,
    lot         TEXT,
    month       TEXT    NOT NULL,
    entries     TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    occurrences INTEGER NOT NULL
) WITHOUT ROWID;

-- Entries declared wrong, with the correction that did it; entries not listed stand.
CREATE TABLE entry_status (
    idx          INTEGER PRIMARY KEY REFERENCES ledger (idx),
    corrected_by INTEGER NOT NULL REFERENCES ledger (idx)
);
