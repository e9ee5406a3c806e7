--[[ MatchAction.lua: Library › Plug-in Extras › Match a look from the active photo…

The active (most-selected) photo is the exemplar: its original file is the "before" and Lightroom's rendering of
it (photo:requestJpegThumbnail, which shows its develop settings; at most 1024 x 1024, written to a temporary
JPEG) the "after". The bridge fits develop settings that turn one into the other and carries them over to each
of the other selected photos through that photo's own regions (POST /v1/match, no sidecars). Their settings are
written as RetouchAction writes plans (Applier: short catalog writes of Settings.chunkSize() photos), one
"AI Retouch: match look" history step per photo; the exemplar itself is not changed. One summary at the end:
how closely the fitted look reproduces the exemplar (ΔE) and which targets were matched or failed.
An exemplar whose rendering does not line up with its original (cropped or rotated: the server answers 422
exemplar_mismatch), a server that is not running or a refused token stop with one dialog before anything
changes. Fewer than two selected photos: one dialog asking for the exemplar and a target. ]]

local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrFileUtils = import 'LrFileUtils'
local LrProgressScope = import 'LrProgressScope'
local LrTasks = import 'LrTasks'

local Applier = require 'Applier'
local Http = require 'Http'
local JSON = require 'JSON'
local PhotoRequests = require 'PhotoRequests'
local ServerControl = require 'ServerControl'
local Settings = require 'Settings'
local Summary = require 'Summary'
local Task = require 'Task'
local TempFiles = require 'TempFiles'

local TITLE = 'Match a look'
local HISTORY_NAME = 'AI Retouch: match look'
local PREVIEW_EDGE = 1024
local MATCH_TIMEOUT = 900 -- seconds for one request: the fit, then the analysis of each of its targets
local TARGETS_PER_REQUEST = 20 -- each request fits the pair again: requests stay short and Cancel is heard
local SELECT_FIRST = 'Select the exemplar and at least one target: the active (most-selected) photo is the ' ..
  'exemplar whose look is matched; the other selected photos get that look.'

-- The active photo and its position among the selected photos (the first one when Lightroom names none).
local function exemplarOf(catalog, photos)
  local active = catalog:getTargetPhoto()
  if active then
    for i, photo in ipairs(photos) do
      if photo.localIdentifier == active.localIdentifier then return photo, i end
    end
  end
  return photos[1], 1
end

-- Why this photo cannot be the exemplar, or nil.
local function unusable(meta)
  if meta.fileFormat == 'VIDEO' then return 'it is a video' end
  if not meta.path then return 'Lightroom does not know where its file is' end
  if not PhotoRequests.serverReads(meta) then
    return 'the AI Retouch server cannot read its original (' .. tostring(meta.fileFormat) .. ' files)'
  end
  if LrFileUtils.exists(meta.path) ~= 'file' then return 'its file is missing (' .. meta.path .. ')' end
  return nil
end

-- One paragraph for a request that failed as a whole.
local function describeFailure(err, exemplarLabel)
  if err.code == 'exemplar_mismatch' then
    return 'The look of ' .. exemplarLabel .. ' cannot be matched: ' .. tostring(err.message) .. '.'
  end
  return Http.describe(err)
end

local function run(context)
  local catalog = LrApplication.activeCatalog()
  local photos = catalog:getTargetPhotos()
  if #photos < 2 then Task.abort(SELECT_FIRST, 'info') end
  local exemplar, position = exemplarOf(catalog, photos)
  local metas = PhotoRequests.metadata(catalog, photos, 1, #photos)
  local exemplarMeta = metas[exemplar] or {}
  local exemplarLabel = PhotoRequests.label(exemplarMeta)
  local why = unusable(exemplarMeta)
  if why then Task.abort(exemplarLabel .. ' cannot be the exemplar: ' .. why .. '. Nothing was changed.') end
  ServerControl.requireRunning()

  local count = #photos == 2 and 'the other selected photo' or ('the ' .. (#photos - 1) .. ' other selected photos')
  local answer = LrDialogs.confirm('Match the look of ' .. exemplarLabel .. '?',
    'Its original is the "before" and what Lightroom shows now (its develop settings) the "after". The look ' ..
    'that turns one into the other goes to ' .. count .. ', one "' .. HISTORY_NAME .. '" history step each. ' ..
    exemplarLabel .. ' itself is not changed.', 'Match', 'Cancel')
  if answer ~= 'ok' then return end

  local progress = LrProgressScope { title = TITLE, functionContext = context }
  local function isCanceled() return progress:isCanceled() end
  progress:setCaption(TITLE .. ': Lightroom renders ' .. exemplarLabel)
  local jpeg, noPreview = PhotoRequests.jpeg(exemplar, PREVIEW_EDGE)
  if not jpeg then
    Task.abort('The exemplar ' .. exemplarLabel .. ' could not be used: ' .. noPreview .. '. Nothing was changed.')
  end
  local files = TempFiles.new('match')
  context:addCleanupHandler(function() files:remove() end)
  local afterPath, notWritten = files:write('after.jpg', jpeg)
  if not afterPath then
    Task.abort('The exemplar\'s rendering could not be saved: ' .. notWritten .. '. Nothing was changed.')
  end
  local before = { path = exemplarMeta.path, photo_id = exemplarMeta.uuid or tostring(exemplar.localIdentifier),
    is_raw = PhotoRequests.isRaw(exemplarMeta) }
  local after = { path = afterPath }

  local tally = Summary.new(TITLE, { done = 'matched' })
  local targets = {}
  for i, photo in ipairs(photos) do
    if i ~= position then
      local meta = metas[photo] or {}
      local label = PhotoRequests.label(meta)
      local request, skip = PhotoRequests.describe(photo, meta)
      if not request then
        tally:skipped(label, skip)
      elseif not request.preview and LrFileUtils.exists(request.path) ~= 'file' then
        tally:failed(label, 'file not found (' .. request.path .. ')')
      else
        targets[#targets + 1] = { photo = photo, label = label, request = request }
      end
    end
  end

  local pending, chunkSize, fit, aiMasksPending = {}, Settings.chunkSize(), nil, 0
  local function flush()
    aiMasksPending = aiMasksPending + Applier.applyAndCount(catalog, pending, tally, HISTORY_NAME)
    pending = {}
  end

  local total = #targets
  for first = 1, total, TARGETS_PER_REQUEST do
    if isCanceled() then
      tally.cancelled, tally.notProcessed = true, total - first + 1
      break
    end
    local last = math.min(total, first + TARGETS_PER_REQUEST - 1)
    progress:setCaption(string.format('%s: the look of %s for photos %d to %d of %d', TITLE, exemplarLabel,
      first, last, total))
    local batch = JSON.array()
    for i = first, last do batch[#batch + 1] = targets[i].request end
    local matched, err = Http.post('/v1/match', { before = before, after = after, targets = batch,
      write_sidecars = false }, { timeout = MATCH_TIMEOUT, isCanceled = isCanceled })
    if not matched then
      if err.kind == 'cancelled' then
        tally.cancelled, tally.notProcessed = true, total - first + 1
        break
      end
      if first == 1 then -- nothing has changed yet: say why in one dialog
        Task.abort(describeFailure(err, exemplarLabel) .. '\n\nNothing was changed.')
      end
      if Http.isFatal(err) or err.code == 'exemplar_mismatch' then
        tally.stopReason, tally.notProcessed = describeFailure(err, exemplarLabel), total - first + 1
        break
      end
      for i = first, last do tally:failed(targets[i].label, Http.describe(err)) end
    else
      fit = type(matched.fit) == 'table' and matched.fit or fit
      local answered = {}
      for _, result in ipairs(type(matched.results) == 'table' and matched.results or {}) do
        local target = type(result.index) == 'number' and targets[first + result.index] or nil
        if target and not answered[target] and first + result.index <= last then
          answered[target] = true
          if result.ok and type(result.settings) == 'table' then
            pending[#pending + 1] = Applier.item(target.photo, target.label, result.settings, result.plan)
            if #pending >= chunkSize then flush() end
          elseif result.ok then
            tally:failed(target.label, 'the server answered without settings')
          else
            local problem = type(result.error) == 'table' and result.error or {}
            tally:failed(target.label, Http.describe({ kind = 'http', code = problem.code,
              message = problem.message or 'failed', path = problem.path }))
          end
        end
      end
      for i = first, last do
        if not answered[targets[i]] then tally:failed(targets[i].label, 'the server did not answer for it') end
      end
    end
    progress:setPortionComplete(last, total)
    LrTasks.yield()
  end
  flush()
  progress:done()

  if fit and type(fit.delta_e) == 'number' then
    tally:note(string.format('The fitted look reproduces %s within ΔE %.1f on average (its edit changed it by ' ..
      'ΔE %.1f; below about 2 is hard to see).', exemplarLabel, fit.delta_e, tonumber(fit.baseline_delta_e) or 0))
  end
  Applier.noteWaitingAIMasks(tally, aiMasksPending)
  tally:show()
end

Task.run(TITLE, run)
