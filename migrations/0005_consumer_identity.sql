-- Who wrote the log: one record each time a consumer (ordlog consume) or an ingest starts writing this log
-- with an identity that differs from the latest one recorded here. Part of the same hash chain and the same
-- gapless seq as receives and attempts, and just as immutable. Logs written before this migration have no
-- identity record; readers name their consumer after the file.

CREATE TABLE identities (
    seq             INTEGER PRIMARY KEY,  -- log sequence number (shared with receives and attempts)
    consumer_id     TEXT    NOT NULL,     -- --consumer-id, else host name + ECS task id or pod name, else generated
    ordlog_version  TEXT    NOT NULL,     -- the ordlog release that wrote the following records
    queue           TEXT    NOT NULL,     -- the queue URL/ARN consumed, or the input file(s) of an ingest
    recorded_at     INTEGER NOT NULL,     -- when it started writing (ms since the epoch)
    prev_hash       BLOB    NOT NULL,     -- hash of record seq-1 (32 zero bytes for the first)
    hash            BLOB    NOT NULL      -- sha256(prev_hash || canonical encoding of this record)
);

CREATE TRIGGER identities_no_update BEFORE UPDATE ON identities
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: UPDATE on identities refused'); END;
CREATE TRIGGER identities_no_delete BEFORE DELETE ON identities
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: DELETE on identities refused'); END;
