-- Sealed segments (`ordlog seal`): a log file may hold one segment of a consumer's chain.
-- After a seal, the live file starts over as the next segment: its first record has seq = the sealed segment's
-- last seq + 1 and prev_hash = the sealed segment's head hash. This row says so, so that `ordlog verify` of the
-- file alone knows where its chain starts. Absent (no row) in a log that was never sealed: the chain starts at
-- seq 1 with 32 zero bytes, as before.

CREATE TABLE segment_start (
    id             INTEGER PRIMARY KEY CHECK (id = 1),  -- at most one per file
    first_seq      INTEGER NOT NULL,                    -- seq of this file's first record (previous last seq + 1)
    prev_hash      BLOB    NOT NULL,                    -- head hash of the previous segment = first record's prev_hash
    consumer_id    TEXT    NOT NULL,                    -- the consumer whose chain this is
    prev_segment   TEXT    NOT NULL,                    -- the sealed previous segment: <consumerId>/<first>-<last>.ordlog
    sealed_at      INTEGER NOT NULL,                    -- when the previous segment was sealed (ms since the epoch)
    hash           BLOB    NOT NULL                     -- sha256(prev_hash || canonical("segment-start", first_seq, consumer_id, prev_segment, sealed_at))
);

CREATE TRIGGER segment_start_no_update BEFORE UPDATE ON segment_start
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: UPDATE on segment_start refused'); END;
CREATE TRIGGER segment_start_no_delete BEFORE DELETE ON segment_start
BEGIN SELECT RAISE(ABORT, 'ordlog event log is append-only: DELETE on segment_start refused'); END;
