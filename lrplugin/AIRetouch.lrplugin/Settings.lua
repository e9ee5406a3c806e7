--[[ Settings.lua: the plug-in's preferences (server address, token) and where the bridge's token file lives.

  Precedence for the server address: what the photographer typed in the Plug-in Manager, then the installer's
  InstallConfig.lua, then http://127.0.0.1:8765. Only loopback addresses are accepted: the token must never
  leave this machine.
  Precedence for the token: a token typed in the Plug-in Manager, then the first readable file of
  tokenFiles() (a chosen file, the installer's, $AIRETOUCH_CONFIG_DIR/token, the per-OS default that
  docs/API.md names). ]]

local LrPrefs = import 'LrPrefs'
local LrPathUtils = import 'LrPathUtils'
local LrFileUtils = import 'LrFileUtils'

local Settings = {
  DEFAULT_URL = 'http://127.0.0.1:8765',
  HISTORY_NAME = 'AI Retouch',
  CHUNK_SIZE = 20, -- photos per catalog write: the catalog is never locked for long
}

function Settings.prefs()
  return LrPrefs.prefsForPlugin()
end

local function trim(s)
  return (tostring(s or ''):gsub('^%s+', ''):gsub('%s+$', ''))
end
Settings.trim = trim

local installConfig

-- The table that installers/install.py writes into the installed plug-in (absent in a checkout).
function Settings.installConfig()
  if installConfig then return installConfig end
  installConfig = {}
  local path = LrPathUtils.child(_PLUGIN.path, 'InstallConfig.lua')
  if LrFileUtils.exists(path) then
    local chunk = loadstring(LrFileUtils.readFile(path) or '', '=InstallConfig.lua')
    if chunk then
      setfenv(chunk, {}) -- plain data: no access to anything
      local ok, t = pcall(chunk)
      if ok and type(t) == 'table' then installConfig = t end
    end
  end
  return installConfig
end

local LOOPBACK = { ['127.0.0.1'] = true, ['localhost'] = true, ['[::1]'] = true }

-- "localhost:9000", "http://127.0.0.1:8765/" ... → "http://host:port", or nil and why.
function Settings.normalizeServerUrl(text)
  local url = trim(text)
  if url == '' then return Settings.DEFAULT_URL end
  if not url:find('://', 1, true) then url = 'http://' .. url end
  url = url:gsub('/+$', '')
  local scheme, host, port = url:match('^(%a+)://(%[[^%]]+%])(:?%d*)$')
  if not scheme then scheme, host, port = url:match('^(%a+)://([^:/]+)(:?%d*)$') end
  if not scheme then
    return nil, 'The server address should look like http://127.0.0.1:8765 (got "' .. trim(text) .. '").'
  end
  if scheme:lower() ~= 'http' then
    return nil, 'The bridge speaks plain http on this machine only (got "' .. scheme .. '").'
  end
  if not LOOPBACK[host:lower()] then
    return nil, 'The bridge only runs on this computer: use 127.0.0.1, localhost or [::1] (got "' .. host .. '").'
  end
  if port == ':' then port = '' end
  return 'http://' .. host:lower() .. port
end

function Settings.serverUrl()
  local candidates = { Settings.prefs().serverUrl or false, Settings.installConfig().serverUrl or false }
  for _, candidate in ipairs(candidates) do
    if candidate and trim(candidate) ~= '' then
      local url = Settings.normalizeServerUrl(candidate)
      if url then return url end
    end
  end
  return Settings.DEFAULT_URL
end

-- Saves a typed address; an empty one goes back to the default. Returns the address or nil and why.
function Settings.setServerUrl(text)
  if trim(text) == '' then
    Settings.prefs().serverUrl = nil
    return Settings.serverUrl()
  end
  local url, why = Settings.normalizeServerUrl(text)
  if not url then return nil, why end
  Settings.prefs().serverUrl = url
  return url
end

local function join(dir, ...)
  local path = dir
  for _, part in ipairs({ ... }) do path = LrPathUtils.child(path, part) end
  return path
end

-- The bridge's configuration folder as docs/API.md names it for this OS.
function Settings.defaultConfigDir()
  if MAC_ENV then
    return join(LrPathUtils.getStandardFilePath('home'), 'Library', 'Application Support', 'airetouch')
  end
  if WIN_ENV then
    local appData = os.getenv('APPDATA')
    if not appData or appData == '' then
      appData = join(LrPathUtils.getStandardFilePath('home'), 'AppData', 'Roaming')
    end
    return join(appData, 'airetouch')
  end
  local xdg = os.getenv('XDG_CONFIG_HOME')
  if not xdg or xdg == '' then xdg = join(LrPathUtils.getStandardFilePath('home'), '.config') end
  return join(xdg, 'airetouch')
end

-- Token files to try, in order: {path=, source=}.
function Settings.tokenFiles()
  local files = {}
  local function add(path, source)
    if path and trim(path) ~= '' then files[#files + 1] = { path = trim(path), source = source } end
  end
  add(Settings.prefs().tokenFile, 'the token file chosen in the Plug-in Manager')
  add(Settings.installConfig().tokenFile, "the installer's token file")
  local configDir = os.getenv('AIRETOUCH_CONFIG_DIR')
  if configDir and configDir ~= '' then add(join(configDir, 'token'), 'AIRETOUCH_CONFIG_DIR') end
  add(join(Settings.defaultConfigDir(), 'token'), 'the bridge configuration folder')
  return files
end

-- Returns token, where it came from; or nil and a message that says what to do.
function Settings.token()
  local typed = trim(Settings.prefs().token)
  if typed ~= '' then return typed, 'the token typed in the Plug-in Manager' end
  local tried = {}
  for _, file in ipairs(Settings.tokenFiles()) do
    if LrFileUtils.exists(file.path) == 'file' then
      local token = trim(LrFileUtils.readFile(file.path))
      if token ~= '' then return token, file.path end
    end
    tried[#tried + 1] = file.path
  end
  return nil, 'No access token for the AI Retouch server was found (looked in: ' .. table.concat(tried, '; ') ..
    '). The server creates it the first time it starts: start the server, then try again.'
end

function Settings.chunkSize()
  local n = tonumber(Settings.prefs().chunkSize)
  if n and n >= 1 then return math.floor(n) end
  return Settings.CHUNK_SIZE
end

return Settings
