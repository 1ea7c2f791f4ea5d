-- pgbench: the transaction `POST /v1/uploads` commits for a profile without limits (issue 16,
-- item 4): the session row, its audit event and its ExpireSession job, three INSERTs in one
-- transaction and no quota row. `SQL=bench/create-lean.sql bench/create.sh` runs it beside
-- the route, same server, same run. Ids as in bench/create.sql.
\set a random(1, 2000000000)
\set b random(1, 2000000000)
\set o random(1, :owners)
BEGIN;
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
