--[[ RetouchAction.lua: Library › Plug-in Extras › AI Retouch…

Before the options dialog, the people in the active photo are looked for (People.lua) so that the photographer can
choose whom to emphasise or leave alone: those choices go as clicks with the active photo's request only.
For every selected photo, in order: describe it (path, id, current develop settings), ask the bridge for its plan
(POST /v1/plan, or POST /v1/sidecar in "write sidecars" mode), and collect the settings; every Settings.chunkSize()
photos the collected settings are written in one short catalog write (Applier), one "AI Retouch" history step per
photo. The progress bar names the photo being processed; Cancel stops before the next photo, keeps what is
finished and leaves the rest untouched. A server that is not running stops everything with one dialog before
anything changes. One summary dialog at the end. ]]

local LrApplication = import 'LrApplication'
local LrProgressScope = import 'LrProgressScope'
local LrTasks = import 'LrTasks'

local Applier = require 'Applier'
local CatalogIdentity = require 'CatalogIdentity'
local Http = require 'Http'
local People = require 'People'
local PhotoRequests = require 'PhotoRequests'
local RetouchDialog = require 'RetouchDialog'
local ServerControl = require 'ServerControl'
local Settings = require 'Settings'
local Summary = require 'Summary'
local Task = require 'Task'

local TITLE = 'AI Retouch'
local PLAN_TIMEOUT = 300 -- seconds for one photo: a large raw on a slow machine
local METADATA_SLICE = 200
local MAX_TIMEOUTS_IN_A_ROW = 2

-- clicks: the people choices, for the active photo only (nil for the others)
local function requestPlan(photo, options, identity, isCanceled, clicks)
  local httpOptions = { timeout = PLAN_TIMEOUT, isCanceled = isCanceled }
  local body = { photo = photo, catalog = identity, strength = options.strength, instruction = options.instruction,
    clicks = clicks }
  if options.mode ~= 'sidecar' then return Http.post('/v1/plan', body, httpOptions) end
  if options.strength == 1 then
    return Http.post('/v1/sidecar', { photo = photo, catalog = identity, instruction = options.instruction,
      clicks = clicks }, httpOptions)
  end
  -- /v1/sidecar takes no strength: plan with it first, then write that plan.
  local planned, err = Http.post('/v1/plan', body, httpOptions)
  if not planned then return nil, err end
  return Http.post('/v1/sidecar', { photo = photo, catalog = identity, plan = planned.plan }, httpOptions)
end

-- The active (most-selected) photo when it is one of the photos to retouch.
local function activePhoto(catalog, photos)
  local active = catalog:getTargetPhoto()
  if not active then return nil end
  for _, photo in ipairs(photos) do
    if photo.localIdentifier == active.localIdentifier then return photo end
  end
  return nil
end

local function run(context)
  local catalog = LrApplication.activeCatalog()
  local photos = catalog:getTargetPhotos()
  if #photos == 0 then Task.abort('Select the photos to retouch first.', 'info') end
  ServerControl.requireRunning()
  local active = activePhoto(catalog, photos)
  local people
  if active then
    people = People.find(PhotoRequests.metadata(catalog, { active }, 1, 1)[active])
    context:addCleanupHandler(function() People.cleanup(people) end) -- also when something fails
  end
  local options = RetouchDialog.show(#photos, people)
  People.cleanup(people) -- the thumbnails were only for the dialog
  if not options then return end
  local identity = CatalogIdentity.of(catalog)
  local sidecarMode = options.mode == 'sidecar'

  local progress = LrProgressScope { title = TITLE, functionContext = context }
  local function isCanceled() return progress:isCanceled() end
  local tally = Summary.new(TITLE, { done = sidecarMode and 'with a sidecar written' or 'retouched' })
  local pending, chunkSize, timeoutsInARow, aiMasksPending = {}, Settings.chunkSize(), 0, 0

  local function flush()
    aiMasksPending = aiMasksPending + Applier.applyAndCount(catalog, pending, tally)
    pending = {}
  end

  local total, metas = #photos, nil
  for i = 1, total do
    if isCanceled() then
      tally.cancelled, tally.notProcessed = true, total - i + 1
      break
    end
    if (i - 1) % METADATA_SLICE == 0 then
      metas = PhotoRequests.metadata(catalog, photos, i, math.min(total, i + METADATA_SLICE - 1))
    end
    local photo = photos[i]
    local meta = metas[photo]
    local label = PhotoRequests.label(meta)
    progress:setCaption(string.format('%s: %s (%d of %d)', TITLE, label, i, total))

    local request, why = PhotoRequests.describe(photo, meta)
    local answer, err
    if request then
      local clicks = photo == active and options.clicks or nil
      answer, err = requestPlan(request, options, identity, isCanceled, clicks)
    end
    if not request then
      tally:skipped(label, why)
    elseif answer and sidecarMode then
      tally:done(label)
    elseif answer and type(answer.settings) == 'table' then
      pending[#pending + 1] = Applier.item(photo, label, answer.settings, answer.plan)
      if #pending >= chunkSize then flush() end
    elseif answer then
      tally:failed(label, 'the server answered without settings')
    elseif tally:stopsOn(err, total - i + 1) then
      break
    else
      tally:failed(label, Http.describe(err))
      timeoutsInARow = err.kind == 'timeout' and timeoutsInARow + 1 or 0
      if timeoutsInARow >= MAX_TIMEOUTS_IN_A_ROW then
        tally.stopReason, tally.notProcessed = 'The server stopped answering in time.', total - i
        break
      end
    end
    if answer then timeoutsInARow = 0 end
    progress:setPortionComplete(i, total)
    LrTasks.yield()
  end
  flush()
  progress:done()

  if sidecarMode and tally.doneCount > 0 then
    tally:note('Nothing changed in the catalog. Lightroom shows a sidecar\'s edits after Metadata › Read Metadata ' ..
      'from Files, which replaces the photo\'s current settings.')
  end
  Applier.noteWaitingAIMasks(tally, aiMasksPending)
  tally:show()
end

Task.run(TITLE, run)
