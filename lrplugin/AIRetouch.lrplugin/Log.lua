--[[ Log.lua: the plug-in's log, a thin wrapper around LrLogger.
  Lightroom writes it to "AIRetouch.log" in its logs folder (macOS ~/Library/Logs/Adobe/Lightroom/LrClassicLogs,
  Windows %LOCALAPPDATA%\Adobe\Lightroom\Logs\LrClassicLogs). Messages are string.format patterns; a bad pattern
  never raises. ]]

local LrLogger = import 'LrLogger'

local logger = LrLogger('AIRetouch')
logger:enable('logfile')

local Log = {}

local function text(pattern, ...)
  if select('#', ...) == 0 then return tostring(pattern) end
  local args = { ... }
  for i = 1, select('#', ...) do
    if type(args[i]) ~= 'number' then args[i] = tostring(args[i]) end
  end
  local ok, s = pcall(string.format, tostring(pattern), unpack(args, 1, select('#', ...)))
  if ok then return s end
  return tostring(pattern) .. ' ' .. table.concat(args, ' ', 1, select('#', ...))
end

function Log.info(pattern, ...) logger:info(text(pattern, ...)) end
function Log.warn(pattern, ...) logger:warn(text(pattern, ...)) end
function Log.error(pattern, ...) logger:error(text(pattern, ...)) end
function Log.debug(pattern, ...) logger:trace(text(pattern, ...)) end

return Log
