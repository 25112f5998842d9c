-- ordlog event log: append-only, hash-chained.
-- Conventions: snake_case names; times are integer milliseconds since the Unix epoch (UTC);
-- seq is the log sequence number, shared by all log tables, gapless and increasing.

CREATE TABLE receives (
    seq                        INTEGER PRIMARY KEY,  -- log sequence number
    receive_key                TEXT    NOT NULL UNIQUE, -- sha256(message id, receipt handle, receive count, body): one SQS receive
    message_id                 TEXT,                 -- SQS MessageId; NULL when the input was not an SQS message
    receipt_handle             TEXT,
    md5_of_body                TEXT,                 -- MD5OfBody as received
    md5_matches                INTEGER,              -- 1 when MD5OfBody equals md5(body), 0 when not, NULL when absent
    body                       BLOB    NOT NULL,     -- the body (or the unparseable input), byte for byte
    attributes                 TEXT    NOT NULL,     -- SQS system attributes as received, JSON object of strings
    message_attributes         TEXT,                 -- SQS message attributes as received, JSON
    md5_of_message_attributes  TEXT,
    receive_count              INTEGER NOT NULL,     -- ApproximateReceiveCount, or the receive's ordinal when absent
    sent_timestamp             INTEGER,              -- SentTimestamp (ms), NULL when absent
    source                     TEXT    NOT NULL,     -- queue URL/ARN, or file name and line
    input_error                TEXT,                 -- why the input was not an SQS message, else NULL
    received_at                INTEGER NOT NULL,     -- when ordlog received it (ms)
    prev_hash                  BLOB    NOT NULL,     -- hash of record seq-1 (32 zero bytes for the first)
    hash                       BLOB    NOT NULL      -- sha256(prev_hash || canonical encoding of this record)
);
CREATE INDEX receives_message_id ON receives(message_id);
CREATE INDEX receives_sent_timestamp ON receives(sent_timestamp);

CREATE TABLE attempts (
    seq                INTEGER PRIMARY KEY,          -- log sequence number
    receive_seq        INTEGER NOT NULL REFERENCES receives(seq),
    message_id         TEXT,
    outcome            TEXT    NOT NULL CHECK (outcome IN ('projected','duplicate','stale','rejected','failed')),
    error_kind         TEXT    CHECK (error_kind IN ('permanent','transient')),
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
CREATE INDEX attempts_receive_seq ON attempts(receive_seq);
CREATE INDEX attempts_message_id ON attempts(message_id);
CREATE INDEX attempts_order_id ON attempts(order_id);

-- The log is immutable: refuse every UPDATE and DELETE, whoever asks.
CREATE TRIGGER receives_no_update BEFORE UPDATE ON receives
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: UPDATE on receives refused'); END;
CREATE TRIGGER receives_no_delete BEFORE DELETE ON receives
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: DELETE on receives refused'); END;
CREATE TRIGGER attempts_no_update BEFORE UPDATE ON attempts
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: UPDATE on attempts refused'); END;
CREATE TRIGGER attempts_no_delete BEFORE DELETE ON attempts
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: DELETE on attempts refused'); END;
