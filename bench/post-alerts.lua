-- wrk script of the benchmarks (bench/support/wrk.py): POSTs one alert per request and counts answers.
--   BENCH_TARGET            platform (default: POST /api/v1/alerts, 201 counts) or alertmanager
--                           (POST /api/v2/alerts, 200 counts; each alert has labels of its own, so each
--                           request is a new alert in Alertmanager's memory, as each is a new row here)
--   BENCH_SERVICES          alerts spread over SERVICES x 4 severities (default 20) ...
--   BENCH_SERVICE           ... or all for this one service, with BENCH_SEVERITY (default critical) ...
--   BENCH_PREFIX            ... or each request a service of its own, PREFIX-00000 style numbered from
--                           BENCH_FIRST (default 0), with BENCH_SEVERITY; needs BENCH_COUNT
--   BENCH_COUNT             counted: COUNT alerts in all (each thread its share), as fast as the
--                           connections allow or, with BENCH_RATE, paced at RATE alerts/s; a thread stops
--                           once its share is answered; unpaced, it then writes BENCH-STOPPED and wrk.py
--                           ends wrk once all have (paced, wrk runs its whole duration)
--   BENCH_INTEGRATION_KEY   sent as a Bearer credential on every request
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local alertmanager = os.getenv("BENCH_TARGET") == "alertmanager"
local services = tonumber(os.getenv("BENCH_SERVICES") or "20")
local service = os.getenv("BENCH_SERVICE")
local prefix = os.getenv("BENCH_PREFIX")
local first = tonumber(os.getenv("BENCH_FIRST") or "0")
local fixed_severity = os.getenv("BENCH_SEVERITY") or "critical"
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local count = tonumber(os.getenv("BENCH_COUNT") or "0")
local key = os.getenv("BENCH_INTEGRATION_KEY")
local headers = {["Content-Type"] = "application/json"}
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end
local path = alertmanager and "/api/v2/alerts" or "/api/v1/alerts"
local accepted_status = alertmanager and 200 or 201
local severities = {"critical", "high", "medium", "low"}
local threads = {}
local counter = 0
local scheduled = 0
created = 0
other = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- Counted: of THREADS threads, each sends its share of COUNT, paced (its k-th request due
-- k / (RATE / THREADS) s after its first) or at once; wrk asks delay() before every request, so no
-- connection sends beyond the share, and a thread whose share is answered stops.
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local answered = 0
local stopped = false
started = 0 -- ms, the thread's first request and last answer (monotonic): `busy_us` in the figures
last = 0
local function share()
  return math.floor(count / nthreads) + ((id < count % nthreads) and 1 or 0)
end

local function stop()
  if stopped then return end
  stopped = true
  wrk.thread:stop()
  if rate == 0 then
    io.write("BENCH-STOPPED\n")
    io.flush()
  end
end

if count > 0 then -- defined only when counting: wrk then waits on a timer before every request
  function delay()
    if scheduled >= share() then
      if answered >= share() then stop() end -- a thread with no share at all
      return 3600000
    end
    if started == 0 then started = now_ms() end
    local due = (rate > 0) and started + scheduled * 1000 / (rate / nthreads) or 0
    scheduled = scheduled + 1
    return math.max(0, math.floor(due - now_ms()))
  end
end

local numbered = 0 -- BENCH_PREFIX: the numbers taken, never more than delay() let through
local function alert()
  counter = counter + 1
  if prefix then
    -- The thread's j-th request is number FIRST + id + j x THREADS, so the threads share the range. wrk
    -- builds one request before any delay() to check the script (never sent), and one again after a
    -- broken connection (counted in `errors`): neither takes a number of its own.
    numbered = math.min(numbered + 1, scheduled)
    return string.format("%s-%05d", prefix, first + id + (math.max(numbered, 1) - 1) * nthreads), fixed_severity
  end
  local n = counter * 7 + id
  if service then return service, fixed_severity end
  return string.format("bench-%d", n % services), severities[(math.floor(n / services) % 4) + 1]
end

function request()
  local name, severity = alert()
  local body
  if alertmanager then
    body = string.format(
      '[{"labels":{"alertname":"bench","service":"%s","severity":"%s","bench_id":"%d-%d"},"annotations":{"summary":"bench alert %d-%d"}}]',
      name, severity, id, counter, id, counter)
  else
    body = string.format(
      '{"service":"%s","severity":"%s","message":"bench alert %d-%d","labels":{"bench":"true"}}', name, severity, id, counter)
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status == accepted_status then created = created + 1 else other = other + 1 end
  if count > 0 then
    answered = answered + 1
    last = now_ms()
    if answered >= share() then stop() end
  end
end

function done(summary, latency, requests)
  local ok, failed, first_ms, final = 0, 0, math.huge, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("created")
    failed = failed + thread:get("other")
    if thread:get("started") > 0 then first_ms = math.min(first_ms, thread:get("started")) end
    final = math.max(final, thread:get("last"))
  end
  local busy = (final > 0) and (final - first_ms) * 1000 or 0
  io.write(string.format(
    'BENCH {"created": %d, "other": %d, "errors": %d, "duration_us": %d, "busy_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    ok, failed, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, busy, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
