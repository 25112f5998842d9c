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
DROP INDEX attempts_message_id;
DROP INDEX receives_sent_timestamp;
