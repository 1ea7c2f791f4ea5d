-- wrk: POST /v1/uploads/{id}/parts for one part, authenticated (bench/parts.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SLUICE_BENCH_TOKEN")
wrk.body = '{"part_numbers": [3]}'
