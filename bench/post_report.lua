-- wrk script: single-report POST /reports, each request a different report.
-- wrk -t2 -c32 -d8s -s bench/post_report.lua URL -- BODIES_FILE KEY_PREFIX [API_KEY]
-- BODIES_FILE holds one report (JSON, no "key") a line; every request takes the
-- next line and gets a fresh idempotency key, so each one files a new report.

local bodies = {}
local prefix = "bench"
local headers = { ["Content-Type"] = "application/json" }
local counter = 0
thread_id = 0
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  local path = args[1]
  prefix = args[2] or prefix
  if args[3] and args[3] ~= "" then
    headers["Authorization"] = "Bearer " .. args[3]
  end
  for line in io.lines(path) do
    if #line > 2 then
      bodies[#bodies + 1] = line
    end
  end
  counter = 0
end

function request()
  counter = counter + 1
  local line = bodies[(counter + thread_id * 7919) % #bodies + 1]
  local key = string.format('{"key":"%s-%d-%d",', prefix, thread_id, counter)
  return wrk.format("POST", nil, headers, key .. line:sub(2))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
end
