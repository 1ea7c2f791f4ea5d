-- wrk script: read one session (auth and a primary-key lookup).
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SLUICE_BENCH_TOKEN")
