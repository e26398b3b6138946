-- wrk script: POST one MCP JSON-RPC request per wrk request, and check every answer.
--
-- Arguments (after `--` on the wrk command line), each `key=value`, repeatable where noted:
--   body=<JSON-RPC request>   the body; every `__ID__` in it becomes a fresh request id (unique per
--                             thread and request, so concurrent requests in one session never share an id)
--   expect=<substring>        a successful answer must contain it (repeatable: all must be present)
--   reject=<substring>        a successful answer must not contain it (repeatable)
--   header=<Name: value>      a request header (repeatable)
--   session=<Mcp-Session-Id>  handshake-era session ids (repeatable); requests rotate over them
--
-- wrk itself counts transport errors, timeouts and non-2xx answers; answers that arrive with a 2xx
-- status but are not the expected result (a JSON-RPC error, an isError result) are counted here as
-- "bad". done() prints one `WRK_RESULT {json}` line for the benchmark driver to parse.

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   body_template = nil
   expects, rejects, headers, sessions = {}, {}, {}, {}
   for _, arg in ipairs(args) do
      local key, value = arg:match("^([%a_]+)=(.*)$")
      if key == "body" then
         body_template = value
      elseif key == "expect" then
         table.insert(expects, value)
      elseif key == "reject" then
         table.insert(rejects, value)
      elseif key == "header" then
         local name, header_value = value:match("^([^:]+):%s*(.*)$")
         headers[name] = header_value
      elseif key == "session" then
         table.insert(sessions, value)
      else
         error("mcp_call.lua: unknown argument " .. arg)
      end
   end
   if body_template == nil then
      error("mcp_call.lua: body=... is required")
   end
   counter = 0
   checked = 0
   bad = 0
   bad_sample = ""
end

function request()
   counter = counter + 1
   local body = body_template:gsub("__ID__", tid .. "-" .. counter)
   if #sessions > 0 then
      headers["Mcp-Session-Id"] = sessions[counter % #sessions + 1]
   end
   return wrk.format("POST", nil, headers, body)
end

local function is_good(status, body)
   if status < 200 or status > 299 or body == nil then
      return false
   end
   for _, needle in ipairs(expects) do
      if not body:find(needle, 1, true) then
         return false
      end
   end
   for _, needle in ipairs(rejects) do
      if body:find(needle, 1, true) then
         return false
      end
   end
   return true
end

function response(status, response_headers, body)
   checked = checked + 1
   if not is_good(status, body) then
      bad = bad + 1
      if bad_sample == "" then
         bad_sample = status .. " " .. tostring(body):sub(1, 300):gsub("[\r\n]+", " ")
      end
   end
end

function done(summary, latency, requests)
   local total_bad, total_checked, sample = 0, 0, ""
   for _, thread in ipairs(threads) do
      total_bad = total_bad + thread:get("bad")
      total_checked = total_checked + thread:get("checked")
      if sample == "" then
         sample = thread:get("bad_sample")
      end
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},'
         .. '"checked":%d,"bad":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      total_checked, total_bad))
   if sample ~= "" then
      io.write("WRK_BAD_SAMPLE " .. sample .. "\n")
   end
end
