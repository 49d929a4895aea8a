-- wrk script for bench/ingest: POSTs alerts spread over SERVICES x 4 severities and counts answers.
local services = tonumber(os.getenv("BENCH_SERVICES") or "20")
local key = os.getenv("BENCH_INTEGRATION_KEY")  -- set: every request authenticates with it
local headers = {["Content-Type"] = "application/json"}
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end
local severities = {"critical", "high", "medium", "low"}
local threads = {}
local counter = 0
created = 0
other = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local n = counter * 7 + id
  local body = string.format(
    '{"service":"bench-%d","severity":"%s","message":"bench alert %d-%d","labels":{"bench":"true"}}',
    n % services, severities[(math.floor(n / services) % 4) + 1], id, counter)
  return wrk.format("POST", "/api/v1/alerts", headers, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok, failed = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("created")
    failed = failed + thread:get("other")
  end
  io.write(string.format(
    'BENCH {"created": %d, "other": %d, "errors": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    ok, failed, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
