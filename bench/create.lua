-- wrk script: create upload sessions as one user (auth, validation, presign, one
-- transaction with the audit event and the outbox row).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- SLUICE_BENCH_TOKENS (comma-separated) spreads requests over several owners at random.
local tokens = {}
for t in string.gmatch(os.getenv("SLUICE_BENCH_TOKENS") or os.getenv("SLUICE_BENCH_TOKEN"), "[^,]+") do
  tokens[#tokens + 1] = t
end
wrk.headers["Authorization"] = "Bearer " .. tokens[1]
request = function()
  wrk.headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
  return wrk.format()
end
wrk.body = '{"filename":"bench.bin","size":1048576,"content_type":"application/octet-stream"}'
