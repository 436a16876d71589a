-- The wrk side of bench/wrkgen.py: a fixed list of requests, each thread its share.
--
-- wrkgen.py writes one file per thread into $WRKGEN_DIR (thread-<id>.req): a
-- first line "<threads> <count> <expected GET body length or -1> <Host
-- header>", then each request as a line "<method> <path?query> <body
-- length>" followed by the body's bytes. Each thread builds its raw
-- requests once with wrk.format and sends them in order, cycling, until
-- <count> have been answered; then it writes done-<id> and stops. done()
-- writes result.json: per-thread counts and times, wrk's socket errors,
-- and the latency histogram.
--
-- wrk's main thread sleeps for the whole --duration whatever its threads
-- do; SIGINT cuts that short. The thread that finds every done-<id> written
-- after its own sends it (two may: no matter), and wrkgen.py sends it again
-- should it have come before wrk was waiting for it.
--
-- wrk keeps every connection busy and asks request() for the next request
-- as soon as one is free; only delay() can hold a connection back. So
-- delay() hands out the thread's <count> requests, one per call, and parks
-- the connections that ask after that: exactly <count> requests are sent,
-- as loadgen.py sends them, and nothing is left running at the server when
-- the thread stops.
--
-- wrk starts a thread as soon as its init() has run, and runs the next
-- thread's init() meanwhile: with large requests that takes long enough to
-- skew the run. So a thread writes ready-<id> at the end of init(), and its
-- first delay() waits until every thread has.
--
-- wrk embeds LuaJIT: its FFI reads CLOCK_MONOTONIC (Lua alone has no clock
-- finer than a second), sleeps and sends the signal.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } wrkgen_timespec;
int clock_gettime(int clock_id, wrkgen_timespec *tp);
int usleep(unsigned int usec);
int getpid(void);
int kill(int pid, int sig);
]]
local CLOCK_MONOTONIC = 1
local SIGINT = 2
local PARK_MS = 24 * 3600 * 1000
local timespec = ffi.new("wrkgen_timespec")

local function now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local dir = os.getenv("WRKGEN_DIR")

local function exists(path)
   local f = io.open(path, "r")
   if f then
      f:close()
   end
   return f ~= nil
end

-- Setup, in the main state: number the threads (thread t sends requests t, t+n, ...).
local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

-- Running, in each thread's own state.
local requests = {}
local threads_in_run, share, expect, method = 1, 0, -1, ""
local handed, answered, cursor = 0, 0, 0
local verified = false

function init(args)
   local f = assert(io.open(dir .. "/thread-" .. id .. ".req", "rb"))
   local data = f:read("*a")
   f:close()
   local eol = data:find("\n", 1, true)
   local n, count, expected, host = data:sub(1, eol - 1):match("^(%d+) (%d+) (%-?%d+) (%S+)$")
   threads_in_run, share, expect = tonumber(n), tonumber(count), tonumber(expected)
   local pos = eol + 1
   while pos <= #data do
      eol = data:find("\n", pos, true)
      local m, target, size = data:sub(pos, eol - 1):match("^(%S+) (%S+) (%d+)$")
      size = tonumber(size)
      local body = nil
      if size > 0 or m == "PUT" or m == "POST" then
         body = data:sub(eol + 1, eol + size)
      end
      requests[#requests + 1] = wrk.format(m, target, { Host = host }, body)
      method = m
      pos = eol + 1 + size
   end
   -- Read back by done() through thread:get.
   statuses, ok, errors, first_error = {}, 0, 0, ""
   started, last_answer = -1, -1
   assert(io.open(dir .. "/ready-" .. id, "w")):close()
end

local function wait_for_everyone()
   for t = 0, threads_in_run - 1 do
      while not exists(dir .. "/ready-" .. t) do
         ffi.C.usleep(200)
      end
   end
end

local function finish()
   assert(io.open(dir .. "/done-" .. id, "w")):close()
   local last = true
   for t = 0, threads_in_run - 1 do
      last = last and exists(dir .. "/done-" .. t)
   end
   if last then
      ffi.C.kill(ffi.C.getpid(), SIGINT)
   end
   wrk.thread:stop()
end

function delay()
   if handed >= share then
      return PARK_MS
   end
   if handed == 0 then
      -- Blocks the thread's loop, which has nothing else to do yet.
      wait_for_everyone()
      started = now()
   end
   handed = handed + 1
   return 0
end

function request()
   -- wrk calls thread 0's request() once before the run, to check that it
   -- parses: that call must not take a request of the list.
   if id == 0 and not verified then
      verified = true
      return requests[1]
   end
   local r = requests[cursor % #requests + 1]
   cursor = cursor + 1
   return r
end

function response(status, headers, body)
   if answered >= share then
      return
   end
   answered = answered + 1
   last_answer = now()
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 300 then
      errors = errors + 1
      if first_error == "" then
         first_error = "HTTP " .. status .. " for " .. method
      end
   elseif expect >= 0 and #body ~= expect then
      errors = errors + 1
      if first_error == "" then
         first_error = "GET answered " .. #body .. " bytes, not " .. expect
      end
   else
      ok = ok + 1
   end
   if answered == share then
      finish()
   end
end

-- Done, in the main state again.
local function quote(s)
   return '"' .. s:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

local function object(pairs_of)
   return "{" .. table.concat(pairs_of, ",") .. "}"
end

function done(summary, latency, _)
   local parts = {}
   for _, thread in ipairs(threads) do
      local counts = {}
      for status, n in pairs(thread:get("statuses")) do
         counts[#counts + 1] = quote(tostring(status)) .. ":" .. n
      end
      parts[#parts + 1] = object({
         '"ok":' .. thread:get("ok"),
         '"errors":' .. thread:get("errors"),
         '"first_error":' .. quote(thread:get("first_error")),
         '"started":' .. string.format("%.9f", thread:get("started")),
         '"last_answer":' .. string.format("%.9f", thread:get("last_answer")),
         '"statuses":' .. object(counts),
      })
   end
   -- latency(i): the i-th distinct value in microseconds, and how often it was seen.
   local buckets = {}
   for i = 1, #latency do
      local value, n = latency(i)
      buckets[#buckets + 1] = "[" .. value .. "," .. n .. "]"
   end
   local e = summary.errors
   local out = object({
      '"threads":[' .. table.concat(parts, ",") .. "]",
      '"duration_us":' .. summary.duration,
      '"requests":' .. summary.requests,
      '"socket_errors":' .. object({
         '"connect":' .. e.connect,
         '"read":' .. e.read,
         '"write":' .. e.write,
         '"timeout":' .. e.timeout,
      }),
      '"latency_us":[' .. table.concat(buckets, ",") .. "]",
   })
   local f = assert(io.open(dir .. "/result.json", "w"))
   f:write(out, "\n")
   f:close()
end
