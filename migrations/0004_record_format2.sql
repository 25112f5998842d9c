-- Record format 2 for receives (issue 12): the body is hashed once.
--
-- A format-2 receive's chain hash covers SHA-256(body) in place of the body (verify recomputes that digest from
-- the stored body, so an edited body is still found), and its receive_key is derived from the same digest:
-- 'r2:' + the first 16 hex digits of sha256(message id, receipt handle, ApproximateReceiveCount, sha256(body),
-- and the source when there is no message id); the whole 64-digit digest after 'r2:' when those 64 bits are
-- already the key of another receive. The narrow key keeps the UNIQUE index small, and 'r2:' sorts after every
-- format-1 key (64 lowercase hex digits), so min(receive_key) tells whether a log holds format-1 rows.
-- format is NULL for every row written before this migration (format 1, hashed as before) and for rows an
-- older ordlog appends later; rows written by this version have 2.
ALTER TABLE receives ADD COLUMN format INTEGER CHECK (format IS NULL OR format = 2);

-- Indexes no query needs: attempts.message_id is always its receive's message_id (queries go through
-- receive_seq and receives_message_id), and sent_timestamp is only read as coalesce(sent_timestamp,
-- received_at), which the index cannot serve.
-- (attempts_message_id goes with the rebuilt attempts table below.)
DROP INDEX receives_sent_timestamp;

-- attempts, rebuilt with the same columns, rows and hashes: its CHECK (outcome IN (five values)) made SQLite build
-- and drop an ephemeral B-tree of the five values for every INSERT (a third of an attempt's insert cost); the same
-- rule as comparisons needs none. DROP TABLE fires no trigger; the triggers and indexes are recreated as in 0001
-- (without attempts_message_id). Rows are copied in seq order, byte for byte.
CREATE TABLE attempts_rebuilt (
    seq                INTEGER PRIMARY KEY,          -- log sequence number
    receive_seq        INTEGER NOT NULL REFERENCES receives(seq),
    message_id         TEXT,                         -- the receive's message_id (queries go through receive_seq)
    outcome            TEXT    NOT NULL CHECK (outcome = 'projected' OR outcome = 'duplicate' OR outcome = 'stale'
                                               OR outcome = 'rejected' OR outcome = 'failed'),
    error_kind         TEXT    CHECK (error_kind = 'permanent' OR error_kind = 'transient'),
    error_code         TEXT,                         -- stable machine code, e.g. order.field_invalid
    error_field        TEXT,                         -- the field at fault, e.g. quantity
    error_message      TEXT,                         -- names the field and the bad value
    dead_lettered      INTEGER NOT NULL DEFAULT 0,   -- 1 when this failure exhausted maxReceiveCount
    processor_version  TEXT    NOT NULL,
    order_id           TEXT,
    sns_message_id     TEXT,
    item               TEXT,                         -- the Orders item written (JSON), or NULL
    note               TEXT,                         -- why nothing was written, for duplicate/stale
    trigger            TEXT    NOT NULL DEFAULT 'receive', -- receive | redrive
    attempted_at       INTEGER NOT NULL,             -- ms
    prev_hash          BLOB    NOT NULL,
    hash               BLOB    NOT NULL
);
INSERT INTO attempts_rebuilt (seq, receive_seq, message_id, outcome, error_kind, error_code, error_field,
    error_message, dead_lettered, processor_version, order_id, sns_message_id, item, note, trigger, attempted_at,
    prev_hash, hash)
SELECT seq, receive_seq, message_id, outcome, error_kind, error_code, error_field, error_message, dead_lettered,
    processor_version, order_id, sns_message_id, item, note, trigger, attempted_at, prev_hash, hash
FROM attempts ORDER BY seq;
DROP TABLE attempts;
ALTER TABLE attempts_rebuilt RENAME TO attempts;
CREATE INDEX attempts_receive_seq ON attempts(receive_seq);
CREATE INDEX attempts_order_id ON attempts(order_id);
CREATE TRIGGER attempts_no_update BEFORE UPDATE ON attempts
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: UPDATE on attempts refused'); END;
CREATE TRIGGER attempts_no_delete BEFORE DELETE ON attempts
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: DELETE on attempts refused'); END;
