--[[ People.lua: the people in the active photo, for click guidance in the AI Retouch dialog.

  local people = People.find(meta)  -- meta: the photo's raw metadata {path, fileFormat} (PhotoRequests.metadata)
      -- { label =, total = n, list = { {number = 1.., index =, x =, y =, thumbnail = path or nil}, ... } },
      -- or { label =, message = 'No people found in ….' }, or nil when there is nothing to show (a video, a
      -- file the server cannot read)
  local clicks = People.clicks(people, choices)  -- choices[number] = 'same' | 'emphasise' | 'avoid'
  People.cleanup(people)                         -- removes the thumbnails' temporary files (safe twice)

GET /v1/photos/faces gives each person's boxes normalised 0..1 in the upright original's frame, the units of
/v1/plan's clicks: a person's click is the centre of their face box (of their body box without a face). ]]

local LrStringUtils = import 'LrStringUtils'

local Http = require 'Http'
local Log = require 'Log'
local PhotoRequests = require 'PhotoRequests'
local TempFiles = require 'TempFiles'

local People = {
  TIMEOUT = 120,   -- seconds: the server analyses the photo
  MAX_SHOWN = 10,  -- the dialog shows the first ten people (the server takes five clicks of each kind)
  CHOICES = {
    { title = 'As the others', value = 'same' },
    { title = 'Emphasise', value = 'emphasise' },
    { title = 'Leave alone', value = 'avoid' },
  },
}

-- The server could not decode the file: no section rather than an error.
local UNREADABLE = { unsupported_format = true, decode_failed = true, corrupt_image = true, truncated_image = true,
  image_too_large = true }

local function box4(value)
  if type(value) ~= 'table' then return nil end
  for i = 1, 4 do
    if type(value[i]) ~= 'number' then return nil end
  end
  return value
end

local function clamp(v)
  if v < 0 then return 0 elseif v > 1 then return 1 end
  return v
end

function People.find(meta)
  if not PhotoRequests.serverReads(meta) then return nil end -- videos, formats the server cannot read
  local label = PhotoRequests.label(meta)
  local data, err = Http.get('/v1/photos/faces?path=' .. Http.urlEncode(meta.path), { timeout = People.TIMEOUT })
  if not data then
    if err.code and UNREADABLE[err.code] then
      Log.info('no people section for %s: %s', label, Http.describe(err))
      return nil
    end
    return { label = label, message = 'People could not be looked for: ' .. Http.describe(err) }
  end
  local found = type(data.people) == 'table' and data.people or {}
  local people = { label = label, total = #found, list = {}, files = TempFiles.new('people') }
  for i = 1, math.min(#found, People.MAX_SHOWN) do
    local person = type(found[i]) == 'table' and found[i] or {}
    local box = box4(person.face_box) or box4(person.box)
    if box then
      local number = type(person.index) == 'number' and person.index + 1 or i -- the server's notes say "person N"
      local entry = { number = number, index = person.index, x = clamp((box[1] + box[3]) / 2),
        y = clamp((box[2] + box[4]) / 2) }
      if type(person.thumbnail) == 'string' and person.thumbnail ~= '' then
        local ok, jpeg = pcall(LrStringUtils.decodeBase64, person.thumbnail)
        local path, why
        if ok and jpeg then path, why = people.files:write(i .. '.jpg', jpeg) end
        if path then entry.thumbnail = path else Log.warn('no thumbnail for person %d: %s', i, why or jpeg) end
      end
      people.list[#people.list + 1] = entry
    end
  end
  if #people.list == 0 then people.message = 'No people found in ' .. label .. '.' end
  return people
end

-- {x, y, positive} for each person given 'emphasise' (positive) or 'avoid' (negative); nil when none is.
function People.clicks(people, choices)
  if not people or not people.list then return nil end
  local clicks = {}
  for _, person in ipairs(people.list) do
    local choice = choices[person.number]
    if choice == 'emphasise' or choice == 'avoid' then
      clicks[#clicks + 1] = { x = person.x, y = person.y, positive = choice == 'emphasise' }
    end
  end
  if #clicks == 0 then return nil end
  return clicks
end

function People.cleanup(people)
  if people and people.files then people.files:remove() end
end

return People
