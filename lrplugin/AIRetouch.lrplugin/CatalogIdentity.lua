--[[ CatalogIdentity.lua: which catalog the photos belong to, as the bridge names it ({id, path, name}).
  The SDK gives a catalog's path but no id of its own, so the plug-in generates a stable id once per catalog path
  and keeps it in its preferences: the style memory follows the catalog across sessions. ]]

local LrPathUtils = import 'LrPathUtils'
local LrUUID = import 'LrUUID'

local Settings = require 'Settings'

local CatalogIdentity = {}

local function key(path)
  if WIN_ENV then return path:lower() end -- Windows paths are case-insensitive
  return path
end

function CatalogIdentity.of(catalog)
  local path = catalog:getPath()
  local prefs = Settings.prefs()
  local ids = {}
  for k, v in pairs(prefs.catalogIds or {}) do ids[k] = v end
  local id = ids[key(path)]
  if not id then
    id = 'lrc-' .. LrUUID.generateUUID():lower()
    ids[key(path)] = id
    prefs.catalogIds = ids -- assign the whole table: Lightroom saves top-level preference keys only
  end
  return { id = id, path = path, name = LrPathUtils.removeExtension(LrPathUtils.leafName(path)) }
end

return CatalogIdentity
