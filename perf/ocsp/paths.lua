-- perf/ocsp/paths.lua: GET requests cycling through the RFC 5019 paths listed in $WRK_PATHS (one per line), so
-- a run touches many certificates; reports like perf/wrk/report.lua.
dofile(os.getenv("VA_TOP") .. "/perf/wrk/report.lua")
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  paths[#paths + 1] = line
end
local i = 0
function setup(thread)
  thread:set("offset", math.random(#paths))
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i + (offset or 0)) % #paths + 1])
end
