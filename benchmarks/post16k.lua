-- wrk script for the `post` scenario: every request is a POST with a 16 KiB body.
-- benchmarks/run.py passes it with `-s` and the /echo path; the application echoes the body back.
wrk.method = "POST"
wrk.body = string.rep("x", 16 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
