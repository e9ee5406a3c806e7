--[[ PresetAction.lua: Library › Plug-in Extras › Save my style as a preset

Asks for a name and a group, then has the bridge write a develop preset (.xmp) from this catalog's style memory
(POST /v1/presets) and shows where it went. Lightroom Classic reads presets when it starts, so the dialog says to
restart it. ]]

local LrApplication = import 'LrApplication'
local LrBinding = import 'LrBinding'
local LrDialogs = import 'LrDialogs'
local LrFunctionContext = import 'LrFunctionContext'
local LrView = import 'LrView'

local CatalogIdentity = require 'CatalogIdentity'
local Http = require 'Http'
local ServerControl = require 'ServerControl'
local Settings = require 'Settings'
local Task = require 'Task'

local TITLE = 'Save my style as a preset'

-- {name, group} or nil when cancelled.
local function askName()
  local prefs = Settings.prefs()
  local result
  LrFunctionContext.callWithContext('preset name', function(context)
    local props = LrBinding.makePropertyTable(context)
    props.name = prefs.lastPresetName or 'My AI Retouch style'
    props.group = prefs.lastPresetGroup or 'AI Retouch'
    local f = LrView.osFactory()
    local contents = f:column {
      bind_to_object = props,
      spacing = f:control_spacing(),
      f:row {
        f:static_text { title = 'Preset name:', alignment = 'right', width = LrView.share 'label' },
        f:edit_field { value = LrView.bind 'name', width_in_chars = 30 },
      },
      f:row {
        f:static_text { title = 'Group:', alignment = 'right', width = LrView.share 'label' },
        f:edit_field { value = LrView.bind 'group', width_in_chars = 30 },
      },
    }
    if LrDialogs.presentModalDialog { title = TITLE, contents = contents, actionVerb = 'Save' } ~= 'ok' then return end
    local name, group = Settings.trim(props.name), Settings.trim(props.group)
    if name == '' then name = 'My AI Retouch style' end
    if group == '' then group = 'AI Retouch' end
    prefs.lastPresetName, prefs.lastPresetGroup = name, group
    result = { name = name, group = group }
  end)
  return result
end

local function run()
  ServerControl.requireRunning()
  local chosen = askName()
  if not chosen then return end
  local identity = CatalogIdentity.of(LrApplication.activeCatalog())
  local answer, err = Http.post('/v1/presets', { catalog = identity, name = chosen.name, group = chosen.group })
  if not answer then Task.abort('The preset was not saved. ' .. Http.describe(err)) end
  local paths = {}
  for _, preset in ipairs(answer.presets or {}) do paths[#paths + 1] = preset.path end
  if #paths == 0 then
    for _, path in ipairs(answer.paths or {}) do paths[#paths + 1] = path end
  end
  LrDialogs.message('Saved the preset "' .. chosen.name .. '"',
    'Written to:\n' .. table.concat(paths, '\n') .. '\n\nLightroom Classic reads presets when it starts: ' ..
    'restart Lightroom to find it in the Develop module\'s Presets panel, group "' .. chosen.group .. '".', 'info')
end

Task.run(TITLE, run)
