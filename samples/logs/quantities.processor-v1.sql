PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_migrations (
    id TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
INSERT INTO schema_migrations VALUES('0001_event_log','2026-12-01T21:14:33.627Z');
INSERT INTO schema_migrations VALUES('0002_projection','2026-12-01T21:14:33.628Z');
INSERT INTO schema_migrations VALUES('0003_reproject','2026-12-01T21:14:33.628Z');
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
INSERT INTO receives VALUES(1,'e211bfce72cb2a1704e338a8b02e3f2f4c5e1c3e733ed6ab4a0d0b8d12e0e400','m-q0','rh-m-q0',NULL,NULL,X'7b226f726465724964223a226f72642d7130222c22757365724964223a2275222c226974656d4e616d65223a2278222c227175616e74697479223a332e302c22737461747573223a2250454e44494e47222c2274696d657374616d70223a22323032362d30312d30315431303a30303a30302e3030305a227d','{"ApproximateReceiveCount":"1","SentTimestamp":"1767261600000"}',NULL,NULL,1,1767261600000,'quantities.jsonl:1',NULL,1796159673629,X'0000000000000000000000000000000000000000000000000000000000000000',X'b0b12c9dfe4216306587b3ecf5722254fabccf72a80fea5e331472ddeeb32ad3');
INSERT INTO receives VALUES(2,'0e5b2d8ed244cb7c8feb2b2035a952c2d89f43e6fe67a7178430544cb9e85d7b','m-q1','rh-m-q1',NULL,NULL,X'7b226f726465724964223a226f72642d7131222c22757365724964223a2275222c226974656d4e616d65223a2278222c227175616e74697479223a3165322c22737461747573223a2250454e44494e47222c2274696d657374616d70223a22323032362d30312d30315431303a30303a30302e3030305a227d','{"ApproximateReceiveCount":"1","SentTimestamp":"1767261600000"}',NULL,NULL,1,1767261600000,'quantities.jsonl:2',NULL,1796159673629,X'b0b12c9dfe4216306587b3ecf5722254fabccf72a80fea5e331472ddeeb32ad3',X'6c1fe6752de7fdc3f07708b54d247d8bd05a64a2fd7761d2b7b526d9d417b72c');
INSERT INTO receives VALUES(3,'c0afbbc12e1db5edb9201f206a81c844665ee2e019a7446a69257fd70f1365b5','m-q2','rh-m-q2',NULL,NULL,X'7b226f726465724964223a226f72642d7132222c22757365724964223a2275222c226974656d4e616d65223a2278222c227175616e74697479223a333030652d322c22737461747573223a2250454e44494e47222c2274696d657374616d70223a22323032362d30312d30315431303a30303a30302e3030305a227d','{"ApproximateReceiveCount":"1","SentTimestamp":"1767261600000"}',NULL,NULL,1,1767261600000,'quantities.jsonl:3',NULL,1796159673629,X'6c1fe6752de7fdc3f07708b54d247d8bd05a64a2fd7761d2b7b526d9d417b72c',X'feae0e794298893d63fcd30a39f146965e849de7ead8373bd3780c0089c0c5f1');
INSERT INTO receives VALUES(4,'b6f4ab52d006be2f1708d7b72519b175aa4e280b0544612f1f67e5d44d9ca431','m-q3','rh-m-q3',NULL,NULL,X'7b226f726465724964223a226f72642d7133222c22757365724964223a2275222c226974656d4e616d65223a2278222c227175616e74697479223a322e352c22737461747573223a2250454e44494e47222c2274696d657374616d70223a22323032362d30312d30315431303a30303a30302e3030305a227d','{"ApproximateReceiveCount":"1","SentTimestamp":"1767261600000"}',NULL,NULL,1,1767261600000,'quantities.jsonl:4',NULL,1796159673629,X'feae0e794298893d63fcd30a39f146965e849de7ead8373bd3780c0089c0c5f1',X'3947fdbefc04304c92731cee080f55a52253dd18ed3d839cc857f8b248f6b9b5');
INSERT INTO receives VALUES(5,'4bf7d4336a3d907cb223c980026cd494456f58262ed25cd6f94707d792f77347','m-q4','rh-m-q4',NULL,NULL,X'7b226f726465724964223a226f72642d7134222c22757365724964223a2275222c226974656d4e616d65223a2278222c227175616e74697479223a2232222c22737461747573223a2250454e44494e47222c2274696d657374616d70223a22323032362d30312d30315431303a30303a30302e3030305a227d','{"ApproximateReceiveCount":"1","SentTimestamp":"1767261600000"}',NULL,NULL,1,1767261600000,'quantities.jsonl:5',NULL,1796159673629,X'3947fdbefc04304c92731cee080f55a52253dd18ed3d839cc857f8b248f6b9b5',X'7dd1b7fe612c42893aee5911ec9d2917a658e857e8992e2d05b5951951a11560');
INSERT INTO receives VALUES(6,'a8a2d955bfc72972108ad5a303a61319d982994a3a71f863aacfcc4c18c088bf','m-q5','rh-m-q5',NULL,NULL,X'7b226f726465724964223a226f72642d7135222c22757365724964223a2275222c226974656d4e616d65223a2278222c227175616e74697479223a332c22737461747573223a2250454e44494e47222c2274696d657374616d70223a22323032362d30312d30315431303a30303a30302e3030305a227d','{"ApproximateReceiveCount":"1","SentTimestamp":"1767261600000"}',NULL,NULL,1,1767261600000,'quantities.jsonl:6',NULL,1796159673629,X'7dd1b7fe612c42893aee5911ec9d2917a658e857e8992e2d05b5951951a11560',X'd4aa7ef53fb70e0224caabeedd55b300766d86cffba52a62c3fae554bc6c4033');
INSERT INTO receives VALUES(7,'c23df383480b218ee2d4c792e920141e13c6d54e373860cfff4c5cafc6f36255','m-s1','rh-m-s1',NULL,NULL,X'7b226f726465724964223a226f72642d7331222c22757365724964223a2275222c226974656d4e616d65223a225c7564383363222c227175616e74697479223a312c22737461747573223a2250454e44494e47222c2274696d657374616d70223a22323032362d30312d30315431303a30303a30302e3030305a227d','{"ApproximateReceiveCount":"1","SentTimestamp":"1767261600000"}',NULL,NULL,1,1767261600000,'quantities.jsonl:7',NULL,1796159673629,X'd4aa7ef53fb70e0224caabeedd55b300766d86cffba52a62c3fae554bc6c4033',X'18885ca3c6b11fc7e7e6d888082e6fe64101687f6c102fbf779313d90f04f169');
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
INSERT INTO attempts VALUES(8,1,'m-q0','rejected','permanent','order.field_invalid','quantity','order field quantity is the number 3.0, expected an integer 1…9007199254740991 (a JSON integer literal without fraction or exponent)',0,'ordlog-processor/1','ord-q0',NULL,NULL,NULL,'receive',1796159673629,X'18885ca3c6b11fc7e7e6d888082e6fe64101687f6c102fbf779313d90f04f169',X'04df5f20f2e3158eb59f5c0bd8bd4b20b965ee1ccf766c3beaa31e75a5421aa9');
INSERT INTO attempts VALUES(9,2,'m-q1','rejected','permanent','order.field_invalid','quantity','order field quantity is the number 1e2, expected an integer 1…9007199254740991 (a JSON integer literal without fraction or exponent)',0,'ordlog-processor/1','ord-q1',NULL,NULL,NULL,'receive',1796159673629,X'04df5f20f2e3158eb59f5c0bd8bd4b20b965ee1ccf766c3beaa31e75a5421aa9',X'40b1f10d686719e93656fda98a2530c24b6c378655b2050326af9c9cc3f419fa');
INSERT INTO attempts VALUES(10,3,'m-q2','rejected','permanent','order.field_invalid','quantity','order field quantity is the number 300e-2, expected an integer 1…9007199254740991 (a JSON integer literal without fraction or exponent)',0,'ordlog-processor/1','ord-q2',NULL,NULL,NULL,'receive',1796159673629,X'40b1f10d686719e93656fda98a2530c24b6c378655b2050326af9c9cc3f419fa',X'd64c500e293b346e7e010f0150a62319c34e25397a2aa1dcea3b27d6f87fd11e');
INSERT INTO attempts VALUES(11,4,'m-q3','rejected','permanent','order.field_invalid','quantity','order field quantity is the number 2.5, expected an integer 1…9007199254740991 (a JSON integer literal without fraction or exponent)',0,'ordlog-processor/1','ord-q3',NULL,NULL,NULL,'receive',1796159673629,X'd64c500e293b346e7e010f0150a62319c34e25397a2aa1dcea3b27d6f87fd11e',X'46769eec6f3af9ef3eacf40df80856feac52a71cd81bd866128b745040674570');
INSERT INTO attempts VALUES(12,5,'m-q4','rejected','permanent','order.field_invalid','quantity','order field quantity is the string "2", expected an integer 1…9007199254740991',0,'ordlog-processor/1','ord-q4',NULL,NULL,NULL,'receive',1796159673629,X'46769eec6f3af9ef3eacf40df80856feac52a71cd81bd866128b745040674570',X'01c34d45cd0b9f22ccb15a796453a82b5dbc9683f5e99697495fe854da88e9b4');
INSERT INTO attempts VALUES(13,6,'m-q5','projected',NULL,NULL,NULL,NULL,0,'ordlog-processor/1','ord-q5',NULL,'{"orderId":"ord-q5","userId":"u","itemName":"x","quantity":3,"status":"PENDING","timestamp":"2026-01-01T10:00:00.000Z"}',NULL,'receive',1796159673629,X'01c34d45cd0b9f22ccb15a796453a82b5dbc9683f5e99697495fe854da88e9b4',X'cc3c7aa23815a0a29c07e3bf23251254e5c44d1d14f2c22fd942e8642f7e2e65');
INSERT INTO attempts VALUES(14,7,'m-s1','projected',NULL,NULL,NULL,NULL,0,'ordlog-processor/1','ord-s1',NULL,'{"orderId":"ord-s1","userId":"u","itemName":"�","quantity":1,"status":"PENDING","timestamp":"2026-01-01T10:00:00.000Z"}',NULL,'receive',1796159673629,X'cc3c7aa23815a0a29c07e3bf23251254e5c44d1d14f2c22fd942e8642f7e2e65',X'13c8cd78e00554e8eff8db14f91d1d879490446facafc5618fe8f644f1c951cb');
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
INSERT INTO orders VALUES('ord-q5','u','x',3,'PENDING','2026-01-01T10:00:00.000Z',1767261600000000000,6,'m-q5');
INSERT INTO orders VALUES('ord-s1','u','�',1,'PENDING','2026-01-01T10:00:00.000Z',1767261600000000000,7,'m-s1');
CREATE TABLE applied_messages (
    kind  TEXT    NOT NULL,
    id    TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
INSERT INTO applied_messages VALUES('sqs','m-q5',6);
INSERT INTO applied_messages VALUES('sqs','m-s1',7);
CREATE TABLE reproject_checkpoint (
    id          INTEGER PRIMARY KEY CHECK (id = 1),  -- at most one build in progress per file
    target      TEXT    NOT NULL,                    -- what is being built: all | seq:N | sent:MS
    last_seq    INTEGER NOT NULL,                    -- the last log seq applied into the new tables
    started_at  INTEGER NOT NULL                     -- when the build started (ms since the epoch)
);
CREATE INDEX receives_message_id ON receives(message_id);
CREATE INDEX receives_sent_timestamp ON receives(sent_timestamp);
CREATE INDEX attempts_receive_seq ON attempts(receive_seq);
CREATE INDEX attempts_message_id ON attempts(message_id);
CREATE INDEX attempts_order_id ON attempts(order_id);
CREATE TRIGGER receives_no_update BEFORE UPDATE ON receives
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: UPDATE on receives refused'); END;
CREATE TRIGGER receives_no_delete BEFORE DELETE ON receives
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: DELETE on receives refused'); END;
CREATE TRIGGER attempts_no_update BEFORE UPDATE ON attempts
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: UPDATE on attempts refused'); END;
CREATE TRIGGER attempts_no_delete BEFORE DELETE ON attempts
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: DELETE on attempts refused'); END;
COMMIT;
