-- wrk script: create upload sessions as one user (auth, validation, presign, one
-- transaction with the audit event and the outbox row).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SLUICE_BENCH_TOKEN")
wrk.body = '{"filename":"bench.bin","size":1048576,"content_type":"application/octet-stream"}'
