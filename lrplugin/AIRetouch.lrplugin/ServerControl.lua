--[[ ServerControl.lua: is the bridge server up, and starting it in the background.

  ServerControl.requireRunning()  -- health and token, or Task.abort with the one message to show
  ServerControl.startCommand()    -- the shell command that starts the server on this OS
  ServerControl.start()           -- runs it (LrTasks.execute) and waits until /v1/health answers

The installer (installers/install.py) registers the server to start at login and writes InstallConfig.lua
(launcher = 'launchd' | 'schtasks', serverCommand = the airetouch executable); without it the command runs
`airetouch serve` detached. ]]

local LrTasks = import 'LrTasks'

local Http = require 'Http'
local Settings = require 'Settings'
local Task = require 'Task'
local Log = require 'Log'

local ServerControl = {
  LAUNCHD_LABEL = 'org.airetouch.bridge',
  WINDOWS_TASK = 'AI Retouch bridge',
  START_WAIT = 30,
}

-- Health (no token needed) and then a token; aborts the action with one message when either is missing.
function ServerControl.requireRunning()
  local health, err = Http.health()
  if not health then Task.abort(Http.describe(err) .. ' Nothing was changed.') end
  local token, why = Settings.token()
  if not token then Task.abort(why .. ' Nothing was changed.') end
  return health
end

local function shellQuote(s)
  if WIN_ENV then return '"' .. s:gsub('"', '') .. '"' end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function ServerControl.startCommand()
  local config = Settings.installConfig()
  local executable = config.serverCommand or 'airetouch'
  local port = Settings.serverUrl():match(':(%d+)$')
  local serveArgs = ' serve'
  if port and port ~= '8765' then serveArgs = serveArgs .. ' --port ' .. port end
  if WIN_ENV then
    local command
    if config.launcher == 'schtasks' then
      command = 'schtasks /Run /TN ' .. shellQuote(ServerControl.WINDOWS_TASK)
    else
      command = 'start "AI Retouch bridge" /B ' .. shellQuote(executable) .. serveArgs
    end
    -- cmd.exe strips the outer quotes of a command line that starts with one
    return '"' .. command .. '"'
  end
  if config.launcher == 'launchd' then
    return '/bin/launchctl kickstart gui/$(/usr/bin/id -u)/' .. ServerControl.LAUNCHD_LABEL
  end
  if config.launcher == 'systemd' then
    return 'systemctl --user start airetouch.service'
  end
  return 'nohup ' .. shellQuote(executable) .. serveArgs .. ' >/dev/null 2>&1 &'
end

-- Returns true, health; or false, message. Call from a task.
function ServerControl.start(isCanceled)
  local health = Http.health()
  if health then return true, health end
  local command = ServerControl.startCommand()
  Log.info('starting the server: %s', command)
  local status = LrTasks.execute(command)
  if status ~= 0 then
    return false, 'Starting the server failed (exit status ' .. tostring(status) .. ' from: ' .. command .. ').'
  end
  local waited = 0
  while waited < ServerControl.START_WAIT do
    if isCanceled and isCanceled() then return false, 'Cancelled.' end
    LrTasks.sleep(1)
    waited = waited + 1
    health = Http.health()
    if health then return true, health end
  end
  return false, 'The server did not answer within ' .. ServerControl.START_WAIT .. ' seconds after starting it (' ..
    command .. '). Run "airetouch serve" in a terminal to see why.'
end

return ServerControl
