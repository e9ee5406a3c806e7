--[[ Http.lua: the client of the local bridge server (docs/API.md). Call only from a task.

  local data, err = Http.post('/v1/plan', body, { timeout = 300, isCanceled = fn })
  data is the decoded JSON answer; on failure data is nil and err is
    { kind = 'not_running' | 'timeout' | 'unauthorized' | 'busy' | 'http' | 'bad_response' | 'no_token'
             | 'cancelled' | 'invalid' (the body could not be encoded),
      status = HTTP status or nil, code = the server's error code, message = text for people,
      field =, path = (when the server names them) }
  Http.describe(err) turns it into one paragraph for a dialog. A 503 "busy" answer is retried after its
  Retry-After (a few times, stopping early when isCanceled() says so). ]]

local LrHttp = import 'LrHttp'
local LrTasks = import 'LrTasks'

local JSON = require 'JSON'
local Settings = require 'Settings'
local Log = require 'Log'

local Http = {
  TIMEOUT = 60,
  HEALTH_TIMEOUT = 5,
  BUSY_RETRIES = 5,
  MAX_RETRY_WAIT = 30,
}

local function headerValue(respHeaders, name)
  name = name:lower()
  for _, h in ipairs(respHeaders or {}) do
    if type(h) == 'table' and type(h.field) == 'string' and h.field:lower() == name then return h.value end
  end
  return nil
end

function Http.urlEncode(s)
  return (tostring(s):gsub('[^%w%-%._~]', function(c) return string.format('%%%02X', string.byte(c)) end))
end

-- LrHttp answers nil (or no status) when nothing came back: refused, unreachable or timed out.
local function networkError(url, respHeaders)
  local info = type(respHeaders) == 'table' and respHeaders.error or nil
  local code = type(info) == 'table' and tostring(info.errorCode or info.name or '') or ''
  if code:lower():find('timed?out') then
    return { kind = 'timeout', url = url, message = 'The AI Retouch server at ' .. url ..
      ' did not answer in time.' }
  end
  return { kind = 'not_running', url = url, detail = code, message = 'The AI Retouch server is not running (' ..
    url .. ' did not answer).' }
end

local function httpError(status, body, respHeaders)
  local err = { kind = 'http', status = status }
  local ok, data = JSON.tryDecode(body or '')
  if ok and type(data) == 'table' and type(data.error) == 'table' then
    err.code, err.message = data.error.code, data.error.message
    err.field, err.path = data.error.field, data.error.path
  end
  err.message = err.message or ('the server answered HTTP ' .. tostring(status))
  if status == 401 then err.kind = 'unauthorized' end
  if status == 503 then
    err.kind = 'busy'
    err.retryAfter = tonumber(headerValue(respHeaders, 'Retry-After'))
  end
  return err
end

-- Sleeps for `seconds` in short steps; returns false when cancelled meanwhile.
local function wait(seconds, isCanceled)
  local waited = 0
  while waited < seconds do
    if isCanceled and isCanceled() then return false end
    LrTasks.sleep(0.25)
    waited = waited + 0.25
  end
  return not (isCanceled and isCanceled())
end

function Http.request(method, path, body, options)
  options = options or {}
  local base = Settings.serverUrl()
  local url = base .. path
  local headers = { { field = 'Accept', value = 'application/json' } }
  if not options.noAuth then
    local token, why = Settings.token()
    if not token then return nil, { kind = 'no_token', message = why } end
    headers[#headers + 1] = { field = 'Authorization', value = 'Bearer ' .. token }
  end
  local payload
  if body ~= nil then
    local encoded, text = pcall(JSON.encode, body)
    if not encoded then
      return nil, { kind = 'invalid', message = 'The plug-in could not send this request (' .. tostring(text) .. ').' }
    end
    payload = text
    headers[#headers + 1] = { field = 'Content-Type', value = 'application/json' }
  end
  local timeout = options.timeout or Http.TIMEOUT
  local attempt = 0
  while true do
    attempt = attempt + 1
    local respBody, respHeaders
    if method == 'GET' then
      respBody, respHeaders = LrHttp.get(url, headers, timeout)
    else
      respBody, respHeaders = LrHttp.post(url, payload or '', headers, method, timeout)
    end
    local status = type(respHeaders) == 'table' and tonumber(respHeaders.status) or nil
    if status == nil then
      local err = networkError(base, respHeaders)
      Log.warn('%s %s: %s', method, path, err.message)
      return nil, err
    end
    if status >= 200 and status < 300 then
      local ok, data = JSON.tryDecode(respBody or '')
      if not ok then
        Log.error('%s %s: unreadable answer: %s', method, path, data)
        return nil, { kind = 'bad_response', status = status, message = 'The server sent an answer the plug-in ' ..
          'cannot read (' .. tostring(data) .. ').' }
      end
      return data, nil
    end
    local err = httpError(status, respBody, respHeaders)
    if err.kind ~= 'busy' or attempt > Http.BUSY_RETRIES then
      Log.warn('%s %s: HTTP %s %s: %s', method, path, tostring(status), tostring(err.code), err.message)
      return nil, err
    end
    local pause = math.min(math.max(err.retryAfter or 2, 1), Http.MAX_RETRY_WAIT)
    Log.info('%s %s: server busy, retrying in %d s', method, path, pause)
    if not wait(pause, options.isCanceled) then
      return nil, { kind = 'cancelled', message = 'Cancelled.' }
    end
  end
end

function Http.get(path, options) return Http.request('GET', path, nil, options) end
function Http.post(path, body, options) return Http.request('POST', path, body, options) end
function Http.delete(path, options) return Http.request('DELETE', path, nil, options) end

function Http.health()
  return Http.get('/v1/health', { noAuth = true, timeout = Http.HEALTH_TIMEOUT })
end

-- Every further request would fail the same way (server gone, no token, token refused): stop the batch.
function Http.isFatal(err)
  return err ~= nil and (err.kind == 'not_running' or err.kind == 'no_token' or err.kind == 'unauthorized')
end

function Http.describe(err)
  if err == nil then return '' end
  if err.kind == 'not_running' then
    return err.message .. ' Start it from File › Plug-in Manager › AI Retouch › Start server, or run ' ..
      '"airetouch serve" in a terminal, then try again.'
  end
  if err.kind == 'unauthorized' then
    return 'The AI Retouch server refused the plug-in\'s access token (' .. tostring(err.message) .. '). ' ..
      'The token is in the file named in File › Plug-in Manager › AI Retouch; reinstall or paste the token ' ..
      'shown by "airetouch token --show" there.'
  end
  if err.kind == 'no_token' or err.kind == 'timeout' or err.kind == 'cancelled' or err.kind == 'bad_response'
    or err.kind == 'invalid' then
    return err.message
  end
  local text = tostring(err.message)
  if err.path then text = text .. ' (' .. tostring(err.path) .. ')' end
  if err.field and not err.path then text = text .. ' (field ' .. tostring(err.field) .. ')' end
  if err.kind == 'busy' then text = text .. ' The server is busy: try again in a moment.' end
  return text
end

return Http
