--[[ RetouchDialog.lua: asks how to retouch the selected photos.

  local options = RetouchDialog.show(photoCount, people)  -- nil when the photographer cancels
  options = { instruction = 'warmer skin, darker sky' or nil, strength = 0..2 (the slider's 0..200 %),
              mode = 'apply' | 'sidecar', clicks = { {x, y, positive}, ... } or nil (for the active photo) }
`people` (People.find, or nil for no section) are the people of the active photo: each shown with its thumbnail
and a popup "As the others / Emphasise / Leave alone" (bound to props.person1, props.person2, ...); the choices
become clicks for the active photo only. The last instruction, strength and mode are remembered in the plug-in's
preferences (the people's choices are not: they belong to one photo). Call from a task. ]]

local LrBinding = import 'LrBinding'
local LrDialogs = import 'LrDialogs'
local LrFunctionContext = import 'LrFunctionContext'
local LrView = import 'LrView'

local People = require 'People'
local Settings = require 'Settings'

local RetouchDialog = {}

RetouchDialog.MODES = {
  { title = 'Apply to the photos (one "AI Retouch" history step each)', value = 'apply' },
  { title = 'Write XMP sidecars next to the files (change nothing in the catalog)', value = 'sidecar' },
}

local function clampPercent(value)
  local n = tonumber(value) or 100
  if n < 0 then n = 0 elseif n > 200 then n = 200 end
  return math.floor(n + 0.5)
end

RetouchDialog.PEOPLE_PER_ROW = 5

-- The "People" section: a row (or rows) of thumbnails with a popup each, or one line saying why there are none.
local function peopleSection(f, people, photoCount)
  local items = {}
  if people.message then
    items[#items + 1] = f:static_text { title = people.message, width_in_chars = 60 }
  else
    local scope = 'Emphasise lifts a person; Leave alone keeps the edits meant for all the people off them.'
    if photoCount > 1 then
      scope = scope .. ' These choices apply to ' .. people.label .. ' (the active photo) only: the other ' ..
        'selected photos are retouched as usual, since their people differ.'
    end
    items[#items + 1] = f:static_text { title = scope, width_in_chars = 60, height_in_lines = 3 }
    local cells = {}
    for _, person in ipairs(people.list) do
      local cell = { spacing = f:label_spacing() }
      if person.thumbnail then
        cell[#cell + 1] = f:picture { value = person.thumbnail, width = 96, height = 96, frame_width = 1 }
      end
      cell[#cell + 1] = f:static_text { title = 'Person ' .. person.number }
      cell[#cell + 1] = f:popup_menu { value = LrView.bind('person' .. person.number), items = People.CHOICES }
      cells[#cells + 1] = f:column(cell)
    end
    for first = 1, #cells, RetouchDialog.PEOPLE_PER_ROW do
      local row = { spacing = f:control_spacing() }
      for i = first, math.min(#cells, first + RetouchDialog.PEOPLE_PER_ROW - 1) do row[#row + 1] = cells[i] end
      items[#items + 1] = f:row(row)
    end
    if people.total > #people.list then
      items[#items + 1] = f:static_text { title = 'The first ' .. #people.list .. ' of ' .. people.total ..
        ' people are shown.' }
    end
  end
  items.title = 'People in ' .. people.label
  items.fill_horizontal = 1
  return f:group_box(items)
end

function RetouchDialog.show(photoCount, people)
  local prefs = Settings.prefs()
  local options
  LrFunctionContext.callWithContext('AI Retouch dialog', function(context)
    local props = LrBinding.makePropertyTable(context)
    props.instruction = prefs.lastInstruction or ''
    props.strength = clampPercent(prefs.lastStrength or 100)
    props.mode = prefs.lastMode == 'sidecar' and 'sidecar' or 'apply'
    for _, person in ipairs(people and people.list or {}) do props['person' .. person.number] = 'same' end

    local f = LrView.osFactory()
    local bind = LrView.bind
    local count = photoCount == 1 and '1 selected photo' or (tostring(photoCount) .. ' selected photos')
    local rows = {
      bind_to_object = props,
      spacing = f:control_spacing(),
      f:static_text { title = 'Retouch ' .. count .. ' with your local AI Retouch server.' },
      f:row {
        f:static_text { title = 'Instruction (optional):', alignment = 'right', width = LrView.share 'label' },
        f:edit_field { value = bind 'instruction', width_in_chars = 40, height_in_lines = 2,
          placeholder_string = 'e.g. brighter faces, calmer sky, remove blemishes but keep freckles' },
      },
      f:row {
        f:static_text { title = 'Strength:', alignment = 'right', width = LrView.share 'label' },
        f:slider { value = bind 'strength', min = 0, max = 200, integral = true, width_in_chars = 30 },
        f:edit_field { value = bind 'strength', min = 0, max = 200, precision = 0, width_in_digits = 4 },
        f:static_text { title = '%' },
      },
      f:row {
        f:static_text { title = 'Result:', alignment = 'right', width = LrView.share 'label' },
        f:popup_menu { value = bind 'mode', items = RetouchDialog.MODES },
      },
    }
    if people then rows[#rows + 1] = peopleSection(f, people, photoCount) end
    local contents = f:column(rows)
    local answer = LrDialogs.presentModalDialog {
      title = 'AI Retouch',
      contents = contents,
      actionVerb = 'Retouch',
    }
    if answer ~= 'ok' then return end
    local instruction = Settings.trim(props.instruction)
    local percent = clampPercent(props.strength)
    local mode = props.mode == 'sidecar' and 'sidecar' or 'apply'
    prefs.lastInstruction, prefs.lastStrength, prefs.lastMode = instruction, percent, mode
    options = { strength = percent / 100, mode = mode }
    if instruction ~= '' then options.instruction = instruction end
    local choices = {}
    for _, person in ipairs(people and people.list or {}) do
      choices[person.number] = props['person' .. person.number]
    end
    options.clicks = People.clicks(people, choices)
  end)
  return options
end

return RetouchDialog
