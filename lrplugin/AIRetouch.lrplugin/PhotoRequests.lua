--[[ PhotoRequests.lua: a Lightroom photo as the bridge's `photo` object (docs/API.md):
  {path, photo_id, settings (its current develop settings), is_raw, preview (only for formats the server cannot
  read)}.

  local metas = PhotoRequests.metadata(catalog, photos, first, last)   -- one batched catalog read per slice
  local photo, why = PhotoRequests.describe(lrPhoto, metas[lrPhoto])  -- nil, why for photos to skip
  local jpeg, why = PhotoRequests.jpeg(lrPhoto, 1024)                  -- Lightroom's rendering (JPEG data)
  PhotoRequests.serverReads(meta)                                       -- can the bridge decode the file? ]]

local LrTasks = import 'LrTasks'
local LrPathUtils = import 'LrPathUtils'
local LrStringUtils = import 'LrStringUtils'

local JSON = require 'JSON'

local PhotoRequests = {
  PREVIEW_SIZE = 1600,
  PREVIEW_WAIT = 30,
  METADATA_KEYS = { 'path', 'uuid', 'fileFormat' },
}

-- Lightroom's fileFormat values the bridge decodes itself; others go with a rendered JPEG preview.
local SERVER_READS = { RAW = true, DNG = true, JPG = true, TIFF = true, PNG = true }
local RAW_FORMATS = { RAW = true, DNG = true }

-- Raw metadata of photos[first..last], keyed by photo (batchGetRawMetadata: fast for thousands of photos).
function PhotoRequests.metadata(catalog, photos, first, last)
  local slice = {}
  for i = first, last do slice[#slice + 1] = photos[i] end
  return catalog:batchGetRawMetadata(slice, PhotoRequests.METADATA_KEYS)
end

function PhotoRequests.serverReads(meta)
  return meta ~= nil and meta.path ~= nil and SERVER_READS[meta.fileFormat] == true
end

function PhotoRequests.isRaw(meta)
  return meta ~= nil and RAW_FORMATS[meta.fileFormat] == true
end

function PhotoRequests.label(meta)
  if meta and meta.path then return LrPathUtils.leafName(meta.path) end
  return 'a photo'
end

-- A copy that JSON can hold: strings, finite numbers, booleans and tables of them (depth-limited).
local function sanitize(value, depth)
  local t = type(value)
  if t == 'string' or t == 'boolean' then return value end
  if t == 'number' then
    if value ~= value or value == math.huge or value == -math.huge then return nil end
    return value
  end
  if t ~= 'table' or depth > 20 then return nil end
  local copy, isArray = {}, JSON.isArray(value)
  for k, v in pairs(value) do
    local kt = type(k)
    if kt == 'string' or kt == 'number' then copy[k] = sanitize(v, depth + 1) end
  end
  if isArray then JSON.array(copy) end
  return copy
end
PhotoRequests.sanitize = function(value) return sanitize(value, 1) end

-- A JPEG of the photo as Lightroom renders it (develop settings and crop applied), at most size x size: the
-- JPEG data, or nil, why.
function PhotoRequests.jpeg(photo, size)
  size = size or PhotoRequests.PREVIEW_SIZE
  local done, data, failure = false, nil, nil
  -- Keep the request object referenced until the callback runs (Lightroom cancels collected requests).
  local request = photo:requestJpegThumbnail(size, size, function(jpeg, err)
    data, failure, done = jpeg, err, true
  end)
  local waited = 0
  while not done and waited < PhotoRequests.PREVIEW_WAIT do
    LrTasks.sleep(0.1)
    waited = waited + 0.1
  end
  request = nil -- released only now that the callback has run
  if not data then return nil, 'Lightroom gave no preview (' .. tostring(failure or 'timed out') .. ')' end
  return data
end

-- The same, base64 (a `preview` for the bridge).
function PhotoRequests.preview(photo, size)
  local data, why = PhotoRequests.jpeg(photo, size)
  if not data then return nil, why end
  return LrStringUtils.encodeBase64(data)
end

function PhotoRequests.describe(photo, meta)
  meta = meta or {}
  local format = meta.fileFormat
  if format == 'VIDEO' then return nil, 'videos are not retouched' end
  if not meta.path then return nil, 'Lightroom does not know where its file is' end
  local request = {
    path = meta.path,
    photo_id = meta.uuid or tostring(photo.localIdentifier),
    settings = sanitize(photo:getDevelopSettings() or {}, 1),
    is_raw = RAW_FORMATS[format] == true,
  }
  if format and not SERVER_READS[format] then
    local preview, why = PhotoRequests.preview(photo)
    if not preview then return nil, why end
    request.preview = preview
  end
  return request
end

return PhotoRequests
