-- pgbench: the transaction `POST /v1/uploads` commits, statement for statement (captured
-- with log_statement = all): the owner's and the profile's quota counters, the session
-- row, its audit event and its ExpireSession job, in one transaction of seven statements,
-- for one of `-D owners=N` owners at random (one owner: every transaction updates the same
-- quota rows, as one user creating in parallel does).
-- The session id is derived from pgbench's random numbers on the server (md5 → uuid), so
-- no statement is added. bench/create.sh runs it beside the route, same server, same run.
\set a random(1, 2000000000)
\set b random(1, 2000000000)
\set day 739952
\set o random(1, :owners)
BEGIN;
INSERT INTO quota_usage (owner, scope, day, uploads_today, bytes_today, reserved_bytes, stored_bytes)
  VALUES (('bench' || :o), '*', :day, 0, 0, 0, 0)
  ON CONFLICT (owner, scope) DO UPDATE SET day = :day, uploads_today = 0, bytes_today = 0 WHERE quota_usage.day < :day;
UPDATE quota_usage SET uploads_today = uploads_today + 1, bytes_today = bytes_today + 1048576,
  reserved_bytes = reserved_bytes + 1048576 WHERE owner = ('bench' || :o) AND scope = '*';
INSERT INTO quota_usage (owner, scope, day, uploads_today, bytes_today, reserved_bytes, stored_bytes)
  VALUES (('bench' || :o), 'default', :day, 0, 0, 0, 0)
  ON CONFLICT (owner, scope) DO UPDATE SET day = :day, uploads_today = 0, bytes_today = 0 WHERE quota_usage.day < :day;
UPDATE quota_usage SET uploads_today = uploads_today + 1, bytes_today = bytes_today + 1048576,
  reserved_bytes = reserved_bytes + 1048576 WHERE owner = ('bench' || :o) AND scope = 'default';
INSERT INTO upload_sessions (id, owner, profile, filename, size, content_type, sha256, metadata, key, method,
  state, version, one_time, failure, expires_at, created_at, updated_at, upload_deadline, urls_valid_until,
  cleanup_due_at, cleaned_at, multipart_upload_id, part_size, part_count, size_exact)
  VALUES (md5(:a || '-' || :b)::uuid, ('bench' || :o), 'default', 'bench.bin', 1048576, 'application/octet-stream', NULL,
  '{}', 'uploads/bench' || :o || '/' || md5(:a || '-' || :b), 'put', 'pending', 0, true, NULL, now() + interval '1 hour',
  now(), now(), now() + interval '1 hour', now() + interval '1 hour', NULL, NULL, NULL, NULL, NULL, true);
INSERT INTO audit_events (upload_id, at, from_state, to_state, actor, detail)
  VALUES (md5(:a || '-' || :b)::uuid, now(), NULL, 'pending', 'owner:bench' || :o, '{"size": 1048576, "event": "create"}');
INSERT INTO outbox_jobs (job, payload, run_at, created_at, attempts, upload_id, dispatched_at, dispatch_token, last_error)
  VALUES ('expire_session', json_build_object('upload_id', md5(:a || '-' || :b)::uuid), now() + interval '1 hour',
  now(), 0, md5(:a || '-' || :b)::uuid, NULL, NULL, NULL);
COMMIT;
