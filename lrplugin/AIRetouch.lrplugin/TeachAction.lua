--[[ TeachAction.lua: Library › Plug-in Extras › Teach AI Retouch from these edits

Sends each selected photo's current develop settings (what the photographer kept) to the bridge as feedback
(POST /v1/feedback), with the plan AI Retouch proposed for it when the photo has one (kept by Applier in the
hidden proposedPlan field), so that this catalog's style memory learns from them. Changes nothing in the catalog.
Progress with a working Cancel; one summary dialog; one dialog (and nothing sent) when the server is down. ]]

local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrProgressScope = import 'LrProgressScope'
local LrTasks = import 'LrTasks'

local Applier = require 'Applier'
local CatalogIdentity = require 'CatalogIdentity'
local JSON = require 'JSON'
local Http = require 'Http'
local PhotoRequests = require 'PhotoRequests'
local ServerControl = require 'ServerControl'
local Summary = require 'Summary'
local Task = require 'Task'

local TITLE = 'Teach AI Retouch'
local METADATA_SLICE = 200

local function run(context)
  local catalog = LrApplication.activeCatalog()
  local photos = catalog:getTargetPhotos()
  if #photos == 0 then Task.abort('Select the edited photos to learn from first.', 'info') end
  ServerControl.requireRunning()
  local count = #photos == 1 and 'this photo' or ('these ' .. #photos .. ' photos')
  local answer = LrDialogs.confirm('Teach AI Retouch from ' .. count .. '?',
    'AI Retouch learns your style for this catalog from their current develop settings. Nothing in the ' ..
    'catalog changes.', 'Teach', 'Cancel')
  if answer ~= 'ok' then return end
  local identity = CatalogIdentity.of(catalog)

  local progress = LrProgressScope { title = TITLE, functionContext = context }
  local tally = Summary.new(TITLE, { done = 'learned from' })
  local total, metas, events = #photos, nil, nil
  for i = 1, total do
    if progress:isCanceled() then
      tally.cancelled, tally.notProcessed = true, total - i + 1
      break
    end
    if (i - 1) % METADATA_SLICE == 0 then
      metas = PhotoRequests.metadata(catalog, photos, i, math.min(total, i + METADATA_SLICE - 1))
    end
    local photo, meta = photos[i], metas[photos[i]] or {}
    local label = PhotoRequests.label(meta)
    progress:setCaption(string.format('%s: %s (%d of %d)', TITLE, label, i, total))
    if meta.fileFormat == 'VIDEO' or not meta.path then
      tally:skipped(label, meta.path and 'videos are not retouched' or 'Lightroom does not know where its file is')
    else
      local body = { catalog = identity, photo = {
        path = meta.path,
        photo_id = meta.uuid or tostring(photo.localIdentifier),
        settings = PhotoRequests.sanitize(photo:getDevelopSettings() or {}),
      } }
      local ok, planText = pcall(function() return photo:getPropertyForPlugin(_PLUGIN, Applier.PLAN_FIELD) end)
      if ok and type(planText) == 'string' and planText ~= '' then
        local decoded, plan = JSON.tryDecode(planText)
        if decoded and type(plan) == 'table' then body.proposed = plan end
      end
      local result, err = Http.post('/v1/feedback', body, { isCanceled = function() return progress:isCanceled() end })
      if result then
        tally:done(label)
        events = result.events or events
      elseif tally:stopsOn(err, total - i + 1) then
        break
      else
        tally:failed(label, Http.describe(err))
      end
    end
    progress:setPortionComplete(i, total)
    LrTasks.yield()
  end
  progress:done()
  if type(events) == 'number' then
    tally:note('The style memory of "' .. identity.name .. '" now holds ' .. events .. ' edit(s).')
  end
  tally:show()
end

Task.run(TITLE, run)
