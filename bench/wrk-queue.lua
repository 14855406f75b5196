-- wrk script: single-call tRPC actions.queue (POST /trpc/actions.queue, admin key) over many machines,
-- each call with a unique message, counting 2xx and other answers itself. At DF_STOP_AT (epoch ms)
-- it stops queueing and sends only GET /healthz until wrk's duration ends, so every queue call sent
-- has its answer counted (wrk abandons requests still in flight when its duration ends).
-- env: DF_KEY (admin key), DF_TAG (put in each message), DF_BASE, DF_MACHINES (machine ids
-- sim-DF_BASE … sim-(DF_BASE+DF_MACHINES-1)), DF_STOP_AT.
local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_usec; } df_timeval;
  int gettimeofday(df_timeval *tv, void *tz);
]])
local tv = ffi.new("df_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  key = os.getenv("DF_KEY")
  tag = os.getenv("DF_TAG")
  base = tonumber(os.getenv("DF_BASE"))
  machines = tonumber(os.getenv("DF_MACHINES"))
  stop_at = tonumber(os.getenv("DF_STOP_AT"))
  headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
  health = wrk.format("GET", "/healthz")
  k, sent, ok, bad, first = 0, 0, 0, 0, ""
  -- wrk calls the first thread's request() once before the run to check the script
  -- (script_verify_request): that call sends nothing, so it is not counted.
  verifying = id == 1
end

function request()
  if verifying then
    verifying = false
    return health
  end
  if now_ms() >= stop_at then return health end
  k = k + 1
  sent = sent + 1
  local m = base + (id * 7919 + k) % machines
  local body = string.format(
    '{"machineId":"sim-%d","type":"message","data":{"message":"bench %s %d-%d"}}', m, tag, id, k)
  return wrk.format("POST", "/trpc/actions.queue", headers, body)
end

-- After the stop, each connection asks /healthz only twice a second: the summary stays the queue's.
function delay()
  if now_ms() >= stop_at then return 500 end
  return 0
end

function response(status, headers, body)
  if string.find(body, '"ok":true', 1, true) then return end -- /healthz after the stop
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    if first == "" then first = status .. " " .. string.sub(body, 1, 200) end
  end
end

function done(summary, latency, requests)
  local s, o, b, f = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    o = o + t:get("ok")
    b = b + t:get("bad")
    if f == "" then f = t:get("first") end
  end
  io.write(string.format("DF_QUEUE sent=%d ok=%d bad=%d first=%s\n", s, o, b, f))
end
