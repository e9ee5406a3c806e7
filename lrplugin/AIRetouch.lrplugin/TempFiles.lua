--[[ TempFiles.lua: files the plug-in needs for a moment (the people's thumbnails shown in the AI Retouch
dialog, the exemplar's preview for Match a look), in an "AI Retouch" folder of Lightroom's temporary folder
(LrPathUtils.getStandardFilePath('temp')). Whoever writes them removes them when done.

  local files = TempFiles.new('people')        -- one set of files; their names share a unique prefix
  local path, why = files:write('1.jpg', data)  -- the file's path, or nil, why
  files:remove()                                -- deletes every file written through this set (safe twice) ]]

local LrFileUtils = import 'LrFileUtils'
local LrPathUtils = import 'LrPathUtils'
local LrUUID = import 'LrUUID'

local Log = require 'Log'

local TempFiles = { FOLDER = 'AI Retouch' }
TempFiles.__index = TempFiles

function TempFiles.folder()
  return LrPathUtils.child(LrPathUtils.getStandardFilePath('temp'), TempFiles.FOLDER)
end

function TempFiles.new(kind)
  return setmetatable({ prefix = tostring(kind) .. '-' .. LrUUID.generateUUID() .. '-', paths = {} }, TempFiles)
end

function TempFiles:write(name, data)
  local folder = TempFiles.folder()
  if LrFileUtils.exists(folder) ~= 'directory' then LrFileUtils.createAllDirectories(folder) end
  local path = LrPathUtils.child(folder, self.prefix .. name)
  local file, err = io.open(path, 'wb')
  if not file then return nil, 'could not create ' .. path .. ' (' .. tostring(err) .. ')' end
  self.paths[#self.paths + 1] = path
  local written, writeErr = file:write(data)
  file:close()
  if not written then return nil, 'could not write ' .. path .. ' (' .. tostring(writeErr) .. ')' end
  return path
end

function TempFiles:remove()
  for _, path in ipairs(self.paths) do
    if LrFileUtils.exists(path) then
      local ok, why = LrFileUtils.delete(path)
      if not ok then Log.warn('could not remove the temporary file %s: %s', path, why) end
    end
  end
  self.paths = {}
end

return TempFiles
