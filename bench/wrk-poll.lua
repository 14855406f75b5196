-- wrk script: GET one path over many agents' credentials in turn (one pre-built request each), so the
-- server's per-machine rate limit and caches see a fleet, not one agent. The bare server gets the same
-- script (it ignores the header), so both sides pay the same generator cost.
-- env: DF_PATHS_FILE: a file with one "path<TAB>bearer" line per request to cycle through.
local requests = {}
local n = 0

function init(args)
  local file = assert(io.open(os.getenv("DF_PATHS_FILE"), "r"))
  for line in file:lines() do
    local path, bearer = line:match("^([^\t]*)\t?(.*)$")
    local headers = {}
    if bearer ~= "" then headers["Authorization"] = "Bearer " .. bearer end
    n = n + 1
    requests[n] = wrk.format("GET", path, headers)
  end
  file:close()
  -- Threads start at different offsets so they do not walk the list in step.
  i = math.random(n)
end

function request()
  i = i % n + 1
  return requests[i]
end
