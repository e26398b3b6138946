-- wrk script of prompts_list.py: each request is a 2026-07-28 prompts/list for a random organization,
-- and each answer is checked to be that organization's listing.
--
-- Arguments (after `--` on the wrk command line), each `key=value`, `header` repeatable:
--   body=<JSON-RPC request>      the body; its `__ID__` becomes "<org>-<thread>-<n>" (the org travels in
--                                the id, which the answer echoes, so each answer is checked against
--                                the organization it was asked for)
--   header=<Name: value>         a request header (repeatable)
--   org_header=<name>            the header naming the organization (benchmark-only auth plugin)
--   org_slug=<prefix>            organization i is <prefix><i>, i in 1..organizations
--   organizations=<n>
--   prompts=<n>                  prompts each org has: the answer must list exactly n named
--                                "<prefix><i>-prompt-..." (the org's own rows)
--   defaults=<n>, default_prefix=<p>   and exactly n default prompts named "<p>..."
--   seed=<n>                     random seed (each thread adds its number), for reproducible sequences
--
-- wrk counts transport errors, timeouts and non-2xx answers itself; here an answer is also "bad" unless
-- it is HTTP 200 with a JSON-RPC result (no error) listing the expected prompts of the right org.
-- done() prints one `WRK_RESULT {json}` line for the driver.

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   headers = {}
   local body
   local seed = 1
   for _, arg in ipairs(args) do
      local key, value = arg:match("^([%a_]+)=(.*)$")
      if key == "body" then
         body = value
      elseif key == "header" then
         local name, header_value = value:match("^([^:]+):%s*(.*)$")
         headers[name] = header_value
      elseif key == "org_header" then
         org_header = value
      elseif key == "org_slug" then
         org_slug = value
      elseif key == "organizations" then
         organizations = tonumber(value)
      elseif key == "prompts" then
         prompts = tonumber(value)
      elseif key == "defaults" then
         defaults = tonumber(value)
      elseif key == "default_prefix" then
         default_prefix = value
      elseif key == "seed" then
         seed = tonumber(value)
      else
         error("prompts_list.lua: unknown argument " .. arg)
      end
   end
   if not (body and org_header and org_slug and organizations and prompts and defaults and default_prefix) then
      error("prompts_list.lua: body, org_header, org_slug, organizations, prompts, defaults and default_prefix are required")
   end
   body_prefix, body_suffix = body:match("^(.-)__ID__(.*)$")
   if body_prefix == nil then
      error("prompts_list.lua: the body must contain __ID__")
   end
   math.randomseed(seed + tid)
   default_needle = '"name":"' .. default_prefix
   counter = 0
   checked = 0
   bad = 0
   bad_sample = ""
end

function request()
   counter = counter + 1
   local org = math.random(1, organizations)
   headers[org_header] = org_slug .. org
   return wrk.format("POST", nil, headers, body_prefix .. org .. "-" .. tid .. "-" .. counter .. body_suffix)
end

local function count(haystack, needle)
   local found, from = 0, 1
   while true do
      local at = haystack:find(needle, from, true)
      if at == nil then
         return found
      end
      found = found + 1
      from = at + #needle
   end
end

local function problem(status, body)
   if status ~= 200 then
      return "HTTP status"
   end
   if body == nil or not body:find('"result":', 1, true) or body:find('"error":', 1, true) then
      return "not a JSON-RPC result"
   end
   local org = body:match('"id":"(%d+)%-')
   if org == nil then
      return "no request id"
   end
   local own = count(body, '"name":"' .. org_slug .. org .. '-prompt-')
   if own ~= prompts then
      return "listed " .. own .. " prompts of org " .. org .. ", not " .. prompts
   end
   local shipped = count(body, default_needle)
   if shipped ~= defaults then
      return "listed " .. shipped .. " default prompts, not " .. defaults
   end
   return nil
end

function response(status, response_headers, body)
   checked = checked + 1
   local why = problem(status, body)
   if why ~= nil then
      bad = bad + 1
      if bad_sample == "" then
         bad_sample = why .. ": " .. status .. " " .. tostring(body):sub(1, 300):gsub("[\r\n]+", " ")
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
