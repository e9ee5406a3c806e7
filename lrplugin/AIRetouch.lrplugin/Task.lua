--[[ Task.lua: runs an action off Lightroom's UI thread and turns every failure into ONE clear dialog.

  Task.run('AI Retouch', function(context) ... end)   -- an async task with a function context
  Task.abort(message)                                  -- stop the action; Task.run shows message as it is
Anything else that raises is caught (LrTasks.pcall), logged and shown as "something went wrong" with its text. ]]

local LrTasks = import 'LrTasks'
local LrFunctionContext = import 'LrFunctionContext'
local LrDialogs = import 'LrDialogs'

local Log = require 'Log'

local Task = {}

local ABORT = {}

function Task.abort(message, info)
  error(setmetatable({ message = message, info = info }, ABORT), 0)
end

function Task.isAbort(err)
  return type(err) == 'table' and getmetatable(err) == ABORT
end

function Task.run(title, fn)
  LrTasks.startAsyncTask(function()
    local ok, err = LrTasks.pcall(function()
      LrFunctionContext.callWithContext(title, fn)
    end)
    if ok then return end
    if Task.isAbort(err) then
      Log.info('%s stopped: %s', title, err.message)
      LrDialogs.message(title, err.message, err.info or 'warning')
    else
      Log.error('%s failed: %s', title, tostring(err))
      LrDialogs.message(title .. ': something went wrong', tostring(err) ..
        '\n\nNothing more was changed. The plug-in log (AIRetouch.log) has the details.', 'critical')
    end
  end, title)
end

return Task
