--[[ PluginInfoProvider.lua: the AI Retouch section of File › Plug-in Manager.

Server address (loopback only), where the token comes from (or a token pasted by hand), "Test connection"
(GET /v1/health, then an authenticated GET /v1/schema/plan to check the token) and "Start server" (the login
service the installer registered, else `airetouch serve` in the background). Network work runs in tasks; the
results appear in the section's status line. ]]

local LrTasks = import 'LrTasks'
local LrView = import 'LrView'

local Http = require 'Http'
local ServerControl = require 'ServerControl'
local Settings = require 'Settings'
local Log = require 'Log'

local Provider = {}

local function tokenStatus()
  local token, source = Settings.token()
  if token then return 'Access token: found (' .. source .. ').' end
  return 'Access token: not found. ' .. source
end

local function describeHealth(health)
  local parts = { 'Connected to AI Retouch bridge ' .. tostring(health.version or '') }
  local present, missing = 0, 0
  for _, model in ipairs(health.models or {}) do
    if model.present then present = present + 1 else missing = missing + 1 end
  end
  if present + missing > 0 then
    parts[#parts + 1] = present .. ' of ' .. (present + missing) .. ' vision models present'
  end
  if type(health.fallbacks) == 'table' and #health.fallbacks > 0 then
    parts[#parts + 1] = 'fallbacks: ' .. table.concat(health.fallbacks, ', ')
  end
  return table.concat(parts, '; ') .. '.'
end

-- Saves the typed address and token; returns false (and says why in the status line) when the address is bad.
local function save(props)
  local url, why = Settings.setServerUrl(props.serverUrl)
  if not url then
    props.connectionStatus = why
    return false
  end
  props.serverUrl = url
  local token = Settings.trim(props.token)
  Settings.prefs().token = token ~= '' and token or nil
  props.tokenStatus = tokenStatus()
  return true
end

-- Runs fn(props) in a task; an error ends up in the status line, not in an unexplained dialog.
local function inTask(props, name, fn)
  LrTasks.startAsyncTask(function()
    local ok, err = LrTasks.pcall(fn, props)
    if not ok then
      Log.error('%s: %s', name, tostring(err))
      props.connectionStatus = name .. ' failed: ' .. tostring(err)
    end
  end, name)
end

function Provider.testConnection(props)
  if not save(props) then return end
  props.connectionStatus = 'Testing ' .. Settings.serverUrl() .. ' …'
  local health, err = Http.health()
  if not health then
    props.connectionStatus = Http.describe(err)
    return
  end
  local status = describeHealth(health)
  local _, authErr = Http.get('/v1/schema/plan', { timeout = Http.HEALTH_TIMEOUT })
  if authErr then
    props.connectionStatus = status .. ' But: ' .. Http.describe(authErr)
  else
    props.connectionStatus = status .. ' The access token works.'
  end
end

function Provider.startServer(props)
  if not save(props) then return end
  props.connectionStatus = 'Starting the server …'
  local ok, result = ServerControl.start()
  if ok then
    props.connectionStatus = describeHealth(result)
    props.tokenStatus = tokenStatus()
  else
    props.connectionStatus = result
  end
end

function Provider.startDialog(props)
  props.serverUrl = Settings.serverUrl()
  props.token = Settings.prefs().token or ''
  props.tokenStatus = tokenStatus()
  props.connectionStatus = 'Not tested yet.'
end

function Provider.endDialog(props)
  save(props)
end

function Provider.sectionsForTopOfDialog(f, props)
  local bind = LrView.bind
  return {
    {
      title = 'AI Retouch bridge',
      synopsis = bind 'connectionStatus',
      bind_to_object = props,
      f:row {
        f:static_text { title = 'Server address:', alignment = 'right', width = LrView.share 'label' },
        f:edit_field { value = bind 'serverUrl', width_in_chars = 28, immediate = true },
      },
      f:row {
        f:static_text { title = 'Access token:', alignment = 'right', width = LrView.share 'label' },
        f:password_field { value = bind 'token', width_in_chars = 28,
          tooltip = 'Leave empty to read the token file the server writes (see docs/API.md).' },
      },
      f:row {
        f:spacer { width = LrView.share 'label' },
        f:static_text { title = bind 'tokenStatus', width_in_chars = 60, height_in_lines = 2 },
      },
      f:row {
        f:spacer { width = LrView.share 'label' },
        f:push_button { title = 'Test connection', action = function() inTask(props, 'Test connection',
          Provider.testConnection) end },
        f:push_button { title = 'Start server', action = function() inTask(props, 'Start server',
          Provider.startServer) end },
      },
      f:row {
        f:spacer { width = LrView.share 'label' },
        f:static_text { title = bind 'connectionStatus', width_in_chars = 60, height_in_lines = 3 },
      },
    },
  }
end

return Provider
