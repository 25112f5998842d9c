-- The checkpoint of an in-progress `ordlog reproject` build.
-- A build writes orders_new / applied_messages_new (same shape as 0002's orders / applied_messages),
-- records here the last log seq it applied, and in one final transaction drops the old tables, renames
-- the new ones into place and deletes this row. A rerun after an interruption continues from last_seq.

CREATE TABLE reproject_checkpoint (
    id          INTEGER PRIMARY KEY CHECK (id = 1),  -- at most one build in progress per file
    target      TEXT    NOT NULL,                    -- what is being built: all | seq:N | sent:MS
    last_seq    INTEGER NOT NULL,                    -- the last log seq applied into the new tables
    started_at  INTEGER NOT NULL                     -- when the build started (ms since the epoch)
);
