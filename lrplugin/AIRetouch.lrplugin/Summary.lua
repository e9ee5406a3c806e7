--[[ Summary.lua: counts what an action did to each photo and says it in one closing dialog.

  local tally = Summary.new('AI Retouch', { done = 'retouched' })
  tally:done(label) ; tally:failed(label, reason) ; tally:skipped(label, reason)
  tally.notProcessed = n ; tally.cancelled = true ; tally.stopReason = 'the server stopped answering'
  if tally:stopsOn(err, remaining) then break end  -- a failed request that ends the run (cancel, fatal)
  tally:note('one more line') ; tally:show()
At most MAX_LISTED reasons are listed; the rest are counted (the log has them all). ]]

local LrDialogs = import 'LrDialogs'

local Http = require 'Http'
local Log = require 'Log'

local Summary = { MAX_LISTED = 10 }
Summary.__index = Summary

function Summary.new(title, words)
  words = words or {}
  return setmetatable({
    title = title, doneWord = words.done or 'done', doneCount = 0, problems = {}, failedCount = 0,
    skippedCount = 0, notProcessed = 0, cancelled = false, notes = {},
  }, Summary)
end

function Summary:done()
  self.doneCount = self.doneCount + 1
end

local function plural(n, word)
  if n == 1 then return '1 photo ' .. word end
  return n .. ' photos ' .. word
end

function Summary:failed(label, reason)
  self.failedCount = self.failedCount + 1
  Log.warn('%s: %s failed: %s', self.title, label, reason)
  if #self.problems < Summary.MAX_LISTED then self.problems[#self.problems + 1] = label .. ': ' .. tostring(reason) end
end

function Summary:skipped(label, reason)
  self.skippedCount = self.skippedCount + 1
  Log.info('%s: %s skipped: %s', self.title, label, reason)
  if #self.problems < Summary.MAX_LISTED then
    self.problems[#self.problems + 1] = label .. ': skipped, ' .. tostring(reason)
  end
end

-- A request error that ends the whole run: the photographer cancelled, or no later photo can do better
-- (Http.isFatal). Records it with the `remaining` photos as not processed and returns true; else false.
function Summary:stopsOn(err, remaining)
  if err.kind == 'cancelled' then
    self.cancelled, self.notProcessed = true, remaining
    return true
  end
  if Http.isFatal(err) then
    self.stopReason, self.notProcessed = Http.describe(err), remaining
    return true
  end
  return false
end

function Summary:note(line)
  self.notes[#self.notes + 1] = line
end

function Summary:headline()
  local parts = { plural(self.doneCount, self.doneWord) }
  if self.failedCount > 0 then parts[#parts + 1] = self.failedCount .. ' failed' end
  if self.skippedCount > 0 then parts[#parts + 1] = self.skippedCount .. ' skipped' end
  if self.notProcessed > 0 then parts[#parts + 1] = self.notProcessed .. ' not processed' end
  local title = self.title
  if self.cancelled then title = title .. ' cancelled' elseif self.stopReason then title = title .. ' stopped' end
  return title .. ': ' .. table.concat(parts, ', ')
end

function Summary:details()
  local lines = {}
  if self.stopReason then lines[#lines + 1] = self.stopReason end
  if self.cancelled then
    lines[#lines + 1] = 'Cancelled: photos already finished keep their result; the others were not touched.'
  end
  for _, line in ipairs(self.problems) do lines[#lines + 1] = '• ' .. line end
  local unlisted = self.failedCount + self.skippedCount - #self.problems
  if unlisted > 0 then lines[#lines + 1] = '… and ' .. unlisted .. ' more (see AIRetouch.log).' end
  for _, line in ipairs(self.notes) do lines[#lines + 1] = line end
  return table.concat(lines, '\n')
end

function Summary:show()
  local style = 'info'
  if self.failedCount > 0 or self.stopReason then style = 'warning' end
  Log.info('%s | %s', self:headline(), self:details())
  LrDialogs.message(self:headline(), self:details(), style)
end

return Summary
