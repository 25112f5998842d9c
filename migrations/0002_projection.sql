-- The local projection: the embedded stand-in for the DynamoDB table Orders.
-- Derived state, rebuilt from the log by `ordlog reproject`; never a source of truth.

CREATE TABLE orders (
    order_id      TEXT    PRIMARY KEY,   -- compared byte for byte (BINARY collation)
    user_id       TEXT    NOT NULL,
    item_name     TEXT    NOT NULL,
    quantity      INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    timestamp     TEXT    NOT NULL,      -- as sent (RFC 3339)
    timestamp_ns  INTEGER NOT NULL,      -- the same instant, ns since the Unix epoch
    last_seq      INTEGER NOT NULL,      -- log sequence of the receive that wrote this version
    message_id    TEXT                   -- SQS MessageId that wrote this version
);

-- Idempotency keys already applied: kind is 'sqs' (SQS MessageId) or 'sns' (SNS MessageId).
CREATE TABLE applied_messages (
    kind  TEXT    NOT NULL,
    id    TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
