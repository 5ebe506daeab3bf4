-- Shared by every scenario: counts responses by status in each thread and, in done(),
-- prints one line "BENCH_JSON {...}" with the totals wrk knows (requests, errors, latency).
-- A scenario script may define `bench_request()` to build each request (POST /orders does).

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  first_failure = ""
  if bench_init then bench_init(args) end
end

if bench_request then
  function request()
    return bench_request()
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status < 200 or status > 299) and first_failure == "" then
    first_failure = status .. " " .. string.sub(body or "", 1, 400)
  end
end

local function quote(s)
  s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local counts, failure = {}, ""
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    local f = t:get("first_failure")
    if failure == "" and f ~= nil then failure = f end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local pct = {}
  for _, p in ipairs({50, 75, 90, 99, 99.9}) do
    table.insert(pct, string.format('"%s": %d', tostring(p), latency:percentile(p)))
  end
  local e = summary.errors
  io.write("BENCH_JSON {",
    string.format('"duration_us": %d, "requests": %d, "bytes": %d, ', summary.duration, summary.requests,
                  summary.bytes),
    string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ',
                  e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, "percentiles": {%s}}, ',
                  latency.mean, latency.stdev, latency.max, table.concat(pct, ", ")),
    '"statuses": {', table.concat(parts, ", "), '}, ',
    '"first_failure": ', quote(failure), "}\n")
end
