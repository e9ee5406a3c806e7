--[[ Applier.lua: writes planned settings into the catalog.

  Applier.item(photo, label, settings, plan)  -- one item: the plan kept as JSON text (for Teach) when it encodes
  Applier.apply(catalog, items, historyName)  -- items: { {photo=, settings=, label=, planText=}, ... }, at most a
                                             -- chunk; historyName: default "AI Retouch"
  Applier.applyAndCount(catalog, items, tally, historyName)  -- the same, then each item into a Summary tally;
                                             -- returns how many photos still wait for their AI masks
  Applier.noteWaitingAIMasks(tally, n)       -- tells the photographer how to finish those n photos
One catalog:withWriteAccessDo per call (the caller passes chunks of Settings.chunkSize() photos, so the catalog is
never locked for long); inside it one photo:applyDevelopSettings(settings, historyName) per photo, which is one
history step of that name (and the plan, when given, goes into the photo's hidden proposedPlan field, for
Teach); then AI masks are recomputed (photo:updateAISettings(), or
catalog:updateAISettings(photos) on versions that only have that). Marks each item: item.applied = true, or
item.error = reason. Nothing in here yields: Lightroom does not allow it inside a write. ]]

local LrTasks = import 'LrTasks'

local JSON = require 'JSON'
local Settings = require 'Settings'
local Log = require 'Log'

local Applier = { WRITE_TIMEOUT = 60, PLAN_FIELD = 'proposedPlan' }

-- Does this settings table define AI masks (crs What = "Mask/Image") that Lightroom must compute?
local function hasAIMasks(value, depth)
  if type(value) ~= 'table' or depth > 8 then return false end
  if value.What == 'Mask/Image' then return true end
  for _, v in pairs(value) do
    if type(v) == 'table' and hasAIMasks(v, depth + 1) then return true end
  end
  return false
end
Applier.hasAIMasks = function(settings)
  return type(settings) == 'table' and hasAIMasks(settings.MaskGroupBasedCorrections, 1)
end

-- A method of a Lightroom object if this version has it (indexing an unknown key may raise).
local function method(object, name)
  local ok, fn = pcall(function() return object[name] end)
  if ok and type(fn) == 'function' then return fn end
  return nil
end

local function applyOne(item, historyName)
  local ok, err = pcall(function()
    item.photo:applyDevelopSettings(item.settings, historyName)
  end)
  if not ok then
    item.error = 'Lightroom refused the settings: ' .. tostring(err)
    return
  end
  item.applied = true
  if item.planText then
    local stored, why = pcall(function()
      item.photo:setPropertyForPlugin(_PLUGIN, Applier.PLAN_FIELD, item.planText)
    end)
    if not stored then Log.warn('could not keep the plan of %s: %s', item.label, why) end
  end
end

local function updateAIMasks(catalog, items)
  local viaCatalog = {}
  for _, item in ipairs(items) do
    if item.applied and Applier.hasAIMasks(item.settings) then
      local update = method(item.photo, 'updateAISettings')
      if update then
        local ok, err = pcall(update, item.photo)
        item.aiMasksUpdated = ok
        if not ok then Log.warn('updateAISettings failed for %s: %s', item.label, err) end
      else
        viaCatalog[#viaCatalog + 1] = item
      end
    end
  end
  if #viaCatalog == 0 then return end
  local update = method(catalog, 'updateAISettings')
  if not update then
    Log.info('this Lightroom version cannot recompute AI masks from a plug-in; %d photos keep definitions only',
      #viaCatalog)
    return
  end
  local photos = {}
  for i, item in ipairs(viaCatalog) do photos[i] = item.photo end
  local ok, err = pcall(update, catalog, photos)
  for _, item in ipairs(viaCatalog) do item.aiMasksUpdated = ok end
  if not ok then Log.warn('catalog:updateAISettings failed: %s', err) end
end

function Applier.item(photo, label, settings, plan)
  local encoded, planText = pcall(JSON.encode, plan)
  return { photo = photo, label = label, settings = settings, planText = encoded and plan ~= nil and planText or nil }
end

function Applier.apply(catalog, items, historyName)
  if #items == 0 then return end
  historyName = historyName or Settings.HISTORY_NAME
  -- LrTasks.pcall: waiting for the catalog's write lock yields
  local ok, result = LrTasks.pcall(function()
    return catalog:withWriteAccessDo(historyName, function()
      for _, item in ipairs(items) do applyOne(item, historyName) end
      updateAIMasks(catalog, items)
    end, { timeout = Applier.WRITE_TIMEOUT })
  end)
  if ok and result ~= nil and result ~= 'executed' then
    ok, result = false, 'the catalog write was ' .. tostring(result)
  end
  if not ok then
    Log.error('catalog write failed: %s', result)
    for _, item in ipairs(items) do
      if not item.applied then
        item.error = 'the catalog was busy or refused the change (' .. tostring(result) .. ')'
      end
    end
  end
end

function Applier.applyAndCount(catalog, items, tally, historyName)
  Applier.apply(catalog, items, historyName)
  local waiting = 0
  for _, item in ipairs(items) do
    if item.applied then
      tally:done(item.label)
      if Applier.hasAIMasks(item.settings) and not item.aiMasksUpdated then waiting = waiting + 1 end
    else
      tally:failed(item.label, item.error)
    end
  end
  return waiting
end

function Applier.noteWaitingAIMasks(tally, waiting)
  if waiting > 0 then
    tally:note(waiting .. ' photo(s) have AI masks that Lightroom still has to compute: select them and ' ..
      'use Photo › Develop Settings › Update AI Settings.')
  end
end

return Applier
