--[[ RetouchDialog.lua: asks how to retouch the selected photos.

  local options = RetouchDialog.show(photoCount)  -- nil when the photographer cancels
  options = { instruction = 'warmer skin, darker sky' or nil, strength = 0..2 (the slider's 0..200 %),
              mode = 'apply' | 'sidecar' }
The last choices are remembered in the plug-in's preferences. Call from a task. ]]

local LrBinding = import 'LrBinding'
local LrDialogs = import 'LrDialogs'
local LrFunctionContext = import 'LrFunctionContext'
local LrView = import 'LrView'

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

function RetouchDialog.show(photoCount)
  local prefs = Settings.prefs()
  local options
  LrFunctionContext.callWithContext('AI Retouch dialog', function(context)
    local props = LrBinding.makePropertyTable(context)
    props.instruction = prefs.lastInstruction or ''
    props.strength = clampPercent(prefs.lastStrength or 100)
    props.mode = prefs.lastMode == 'sidecar' and 'sidecar' or 'apply'

    local f = LrView.osFactory()
    local bind = LrView.bind
    local count = photoCount == 1 and '1 selected photo' or (tostring(photoCount) .. ' selected photos')
    local contents = f:column {
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
  end)
  return options
end

return RetouchDialog
