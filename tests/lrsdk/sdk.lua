--[[ sdk.lua: stand-ins for the Lightroom Classic SDK, for running the plug-in under real Lua 5.1 in pytest.

Written for the tests from the SDK's documented behaviour (see docs/LIGHTROOM.md §7); nothing here is Adobe code.
The Python side (tests/lrsdk/harness.py) provides the host functions in `host`:
  host.http(method, url, body, headers{ {field,value} }, timeout) -> status|nil, body, headerPairs, errorCode
  host.exists(path) -> 'file'|'directory'|false ; host.readFile(path) -> bytes|nil
  host.delete(path) -> true | false, message ; host.makeDirs(path) -> true (created) | false
  host.jpegThumbnail(path, w, h, developSettings) -> bytes|nil (the photo as Lightroom renders it: its develop
    settings and crop applied) ; host.base64(bytes) / host.unbase64(string) ; host.uuid() -> string
  host.sleep(seconds) and host.execute(command) -> exit status (used only when a test asks for real time)
What this reproduces, on purpose strictly:
  * plug-in files run in their own environment: reading or writing an undeclared global is an error; the
    standard Lua libraries Lightroom gives plug-ins (string, table, math, os, io, coroutine) are there;
    `require` loads a file of the plug-in folder once; `import` gives the Lr* namespaces below;
  * LrTasks.startAsyncTask queues a coroutine that sdk.runTasks() drives; sleep/yield suspend it; LrHttp,
    LrTasks.sleep/execute and catalog writes refuse to run outside a task; LrTasks.pcall can yield;
  * catalog:withWriteAccessDo runs its function with write access, refuses to nest, and fails when the function
    yields; photo:applyDevelopSettings / updateAISettings raise outside it;
  * LrPrefs keep copies (changing a nested table without assigning it again is not saved);
  * LrHttp returns body, headers (array of {field,value} with .status); nil and {error={errorCode,name}} when
    nothing answered;
  * LrDialogs record what they show; presentModalDialog / confirm answer through test hooks;
  * LrProgressScope records captions and portions; scope:cancel() (or sdk.onProgress) makes isCanceled() true. ]]

local host = ...
local sdk = {
  clock = 0, dialogs = {}, applied = {}, aiUpdates = {}, writes = {}, executed = {}, logLines = {},
  uncaught = {}, scopes = {}, httpCalls = 0, executeStatus = 0, home = '/home/user', pluginPath = nil,
  modalHandler = nil, confirmAnswer = 'ok', onProgress = nil,
}

local function deepCopy(v, seen)
  if type(v) ~= 'table' then return v end
  seen = seen or {}
  if seen[v] then error('cycle in a value given to Lightroom', 3) end
  seen[v] = true
  local out = {}
  for k, x in pairs(v) do out[deepCopy(k, seen)] = deepCopy(x, seen) end
  seen[v] = nil
  return out
end
sdk.deepCopy = deepCopy

------------------------------------------------------------------------------------------------------------------
-- LrTasks
------------------------------------------------------------------------------------------------------------------
local taskCoroutines = setmetatable({}, { __mode = 'k' })
local queue = {}

local function inTask()
  local co = coroutine.running()
  return co ~= nil and taskCoroutines[co] == true
end
sdk.inTask = inTask

local function requireTask(what)
  if not inTask() then error(what .. ' must be called from within a task (LrTasks.startAsyncTask)', 3) end
end

local function pack(...) return { n = select('#', ...), ... } end

local LrTasks = {}

function LrTasks.startAsyncTask(fn, name)
  local co = coroutine.create(fn)
  taskCoroutines[co] = true
  queue[#queue + 1] = { co = co, name = name or 'task' }
end

function LrTasks.canYield() return inTask() end

function LrTasks.sleep(seconds)
  requireTask('LrTasks.sleep')
  sdk.clock = sdk.clock + (tonumber(seconds) or 0)
  if sdk.realSleep then host.sleep(tonumber(seconds) or 0) end -- tests that wait for a real process
  coroutine.yield()
end

function LrTasks.yield()
  requireTask('LrTasks.yield')
  coroutine.yield()
end

-- A pcall through which the function may yield (Lua 5.1's own pcall cannot).
function LrTasks.pcall(fn, ...)
  local co = coroutine.create(fn)
  if inTask() then taskCoroutines[co] = true end
  local result = pack(coroutine.resume(co, ...))
  while true do
    if not result[1] then return false, result[2] end
    if coroutine.status(co) == 'dead' then return unpack(result, 1, result.n) end
    result = pack(coroutine.resume(co, coroutine.yield(unpack(result, 2, result.n))))
  end
end

-- Records the command; with sdk.realExecute it runs it in a shell as Lightroom does and returns its status.
function LrTasks.execute(command)
  requireTask('LrTasks.execute')
  sdk.executed[#sdk.executed + 1] = command
  if sdk.realExecute then return host.execute(command) end
  return sdk.executeStatus
end

-- Drives queued tasks round-robin until none is left (or maxSteps resumes); uncaught errors are recorded.
function sdk.runTasks(maxSteps)
  local steps = 0
  maxSteps = maxSteps or 1000000
  while #queue > 0 and steps < maxSteps do
    local task = table.remove(queue, 1)
    steps = steps + 1
    local ok, err = coroutine.resume(task.co)
    if not ok then
      sdk.uncaught[#sdk.uncaught + 1] = task.name .. ': ' .. tostring(err)
    elseif coroutine.status(task.co) ~= 'dead' then
      queue[#queue + 1] = task
    end
  end
  return #queue
end

------------------------------------------------------------------------------------------------------------------
-- LrFunctionContext
------------------------------------------------------------------------------------------------------------------
local LrFunctionContext = {}

local Context = {}
Context.__index = Context
function Context:addCleanupHandler(fn) self.cleanup[#self.cleanup + 1] = fn end
function Context:addFailureHandler(fn) self.failure[#self.failure + 1] = fn end

function LrFunctionContext.callWithContext(name, fn, ...)
  local context = setmetatable({ name = name, cleanup = {}, failure = {} }, Context)
  local result = pack(LrTasks.pcall(fn, context, ...))
  for _, scope in ipairs(sdk.scopes) do
    if scope.functionContext == context and not scope.finished then scope.finished = true end
  end
  if not result[1] then
    for _, handler in ipairs(context.failure) do pcall(handler, false, result[2]) end
  end
  for _, handler in ipairs(context.cleanup) do pcall(handler, result[1], result[2]) end
  if not result[1] then error(result[2], 0) end
  return unpack(result, 2, result.n)
end

function LrFunctionContext.postAsyncTaskWithContext(name, fn, ...)
  local args = pack(...)
  LrTasks.startAsyncTask(function()
    LrFunctionContext.callWithContext(name, fn, unpack(args, 1, args.n))
  end, name)
end

------------------------------------------------------------------------------------------------------------------
-- LrProgressScope
------------------------------------------------------------------------------------------------------------------
local Scope = {}
Scope.__index = Scope

function Scope:setCaption(caption) self.captions[#self.captions + 1] = caption end
function Scope:setPortionComplete(done, total)
  self.portions[#self.portions + 1] = { done, total }
  if sdk.onProgress then sdk.onProgress(self, done, total) end
end
function Scope:isCanceled() return self.canceled end
function Scope:cancel() self.canceled = true end
function Scope:done() self.finished = true end
function Scope:isDone() return self.finished end
function Scope:setCancelable(flag) self.cancelable = flag end

local LrProgressScope = setmetatable({}, { __call = function(_, args)
  local scope = setmetatable({ title = args.title, functionContext = args.functionContext, captions = {},
    portions = {}, canceled = false, finished = false, cancelable = true }, Scope)
  sdk.scopes[#sdk.scopes + 1] = scope
  return scope
end })

------------------------------------------------------------------------------------------------------------------
-- LrDialogs, LrView, LrBinding
------------------------------------------------------------------------------------------------------------------
local LrDialogs = {}

local function record(entry) sdk.dialogs[#sdk.dialogs + 1] = entry end

function LrDialogs.message(message, info, style)
  record({ kind = 'message', message = message, info = info, style = style or 'info' })
end
function LrDialogs.showError(err) record({ kind = 'error', message = tostring(err) }) end
function LrDialogs.showBezel(message) record({ kind = 'bezel', message = message }) end
function LrDialogs.attachErrorDialogToFunctionContext() end
function LrDialogs.confirm(message, info, actionVerb, cancelVerb, otherVerb)
  record({ kind = 'confirm', message = message, info = info, actionVerb = actionVerb })
  return sdk.confirmAnswer
end

local function findBound(view)
  if type(view) ~= 'table' then return nil end
  if view.bind_to_object then return view.bind_to_object end
  for _, child in ipairs(view) do
    local found = findBound(child)
    if found then return found end
  end
  return nil
end

function LrDialogs.presentModalDialog(args)
  local props = findBound(args.contents)
  record({ kind = 'modal', title = args.title, contents = args.contents, props = props })
  if sdk.modalHandler then return sdk.modalHandler(args.title, props, args.contents) end
  return 'ok'
end

local LrView = {}
function LrView.bind(key)
  if type(key) == 'table' then return { bind = key.key, table = key } end
  return { bind = key }
end
function LrView.share(name) return { share = name } end
function LrView.osFactory()
  return setmetatable({}, { __index = function(_, kind)
    if kind == 'control_spacing' or kind == 'label_spacing' or kind == 'dialog_spacing' then
      return function() return 8 end
    end
    return function(_, args)
      local view = args or {}
      view.viewType = kind
      return view
    end
  end })
end

local LrBinding = {}
function LrBinding.makePropertyTable(context) return {} end

------------------------------------------------------------------------------------------------------------------
-- LrPrefs, LrLogger, LrPathUtils, LrFileUtils, LrStringUtils, LrUUID
------------------------------------------------------------------------------------------------------------------
sdk.prefsStore = {}
local prefs = setmetatable({}, {
  __index = function(_, k) return deepCopy(sdk.prefsStore[k]) end,
  __newindex = function(_, k, v)
    local t = type(v)
    if t == 'function' or t == 'userdata' or t == 'thread' then error('preferences cannot hold a ' .. t, 2) end
    sdk.prefsStore[k] = deepCopy(v)
  end,
  __pairs = function() return pairs(sdk.prefsStore) end,
})
local LrPrefs = { prefsForPlugin = function() return prefs end }

local function LrLogger(name)
  local logger = {}
  local function line(level)
    return function(_, text) sdk.logLines[#sdk.logLines + 1] = level .. ' ' .. tostring(text) end
  end
  logger.enable = function() end
  logger.disable = function() end
  logger.info, logger.warn, logger.error, logger.trace, logger.debug =
    line('INFO'), line('WARN'), line('ERROR'), line('TRACE'), line('DEBUG')
  return logger
end

-- Lightroom joins with the platform's separator; a test on Linux may hand a Windows session a POSIX folder.
local function sep(path)
  if sdk.WIN_ENV and (path:find('\\', 1, true) or path:match('^%a:')) then return '\\' end
  return '/'
end

local LrPathUtils = {}
function LrPathUtils.child(path, child)
  if path:sub(-1) == '/' or path:sub(-1) == '\\' then return path .. child end
  return path .. sep(path) .. child
end
function LrPathUtils.leafName(path) return path:match('([^/\\]*)$') end
function LrPathUtils.parent(path) return path:match('^(.*)[/\\][^/\\]*$') end
function LrPathUtils.extension(path) return LrPathUtils.leafName(path):match('%.([^.]*)$') or '' end
function LrPathUtils.removeExtension(path) return (path:gsub('%.[^./\\]*$', '')) end
function LrPathUtils.getStandardFilePath(name)
  if name == 'home' then return sdk.home end
  if name == 'temp' then return sdk.temp or LrPathUtils.child(sdk.home, 'tmp') end
  error('getStandardFilePath: the stand-in knows only "home" and "temp" (asked for ' .. tostring(name) .. ')', 2)
end

local LrFileUtils = {}
function LrFileUtils.exists(path) return host.exists(path) end
function LrFileUtils.readFile(path) return host.readFile(path) end
-- Deletes a file or an (empty) folder for good: true, or false and why.
function LrFileUtils.delete(path) return host.delete(path) end
-- Creates the folder and any missing parents: true when it created one.
function LrFileUtils.createAllDirectories(path) return host.makeDirs(path) end

local LrStringUtils = {}
function LrStringUtils.encodeBase64(s) return host.base64(s) end
function LrStringUtils.decodeBase64(s) return host.unbase64(s) end
function LrStringUtils.trimWhitespace(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end

local LrUUID = { generateUUID = function() return host.uuid() end }

------------------------------------------------------------------------------------------------------------------
-- LrHttp
------------------------------------------------------------------------------------------------------------------
local LrHttp = {}

local function checkHeaders(headers)
  for k in pairs(headers or {}) do
    if type(k) ~= 'number' then
      error('LrHttp: headers must be an array of {field=string, value=string} (got the key ' .. tostring(k) .. ')', 3)
    end
  end
  for i, h in ipairs(headers or {}) do
    if type(h) ~= 'table' or type(h.field) ~= 'string' or type(h.value) ~= 'string' then
      error('LrHttp: headers must be an array of {field=string, value=string} (item ' .. i .. ')', 3)
    end
  end
end

local function answer(status, body, pairs_, errorCode)
  if status == nil then
    return nil, { error = { errorCode = errorCode, name = 'The request failed: ' .. tostring(errorCode) } }
  end
  local headers = { status = status }
  for _, pair in ipairs(pairs_ or {}) do headers[#headers + 1] = { field = pair[1], value = pair[2] } end
  return body, headers
end

function LrHttp.get(url, headers, timeout)
  requireTask('LrHttp.get')
  checkHeaders(headers)
  sdk.httpCalls = sdk.httpCalls + 1
  local r = pack(answer(host.http('GET', url, nil, headers or {}, timeout or 30)))
  coroutine.yield() -- the network call lets other tasks run
  return unpack(r, 1, 2)
end

function LrHttp.post(url, body, headers, method, timeout, totalSize)
  requireTask('LrHttp.post')
  checkHeaders(headers)
  if type(body) ~= 'string' then error('LrHttp.post: the body must be a string', 2) end
  sdk.httpCalls = sdk.httpCalls + 1
  local r = pack(answer(host.http(method or 'POST', url, body, headers or {}, timeout or 30)))
  coroutine.yield()
  return unpack(r, 1, 2)
end

------------------------------------------------------------------------------------------------------------------
-- LrApplication: one catalog of photos
------------------------------------------------------------------------------------------------------------------
local catalog = { photos = {}, selection = nil, path = '/Users/me/Pictures/Lightroom/Test Catalog.lrcat',
                  writeAccess = false }
local Photo = {}

local function requireWrite(what)
  if not catalog.writeAccess then
    error(what .. ' must be called from within catalog:withWriteAccessDo', 3)
  end
end

local PhotoMethods = {}
function PhotoMethods:getRawMetadata(key)
  if key == 'path' or key == 'uuid' or key == 'fileFormat' then return self._meta[key] end
  if key == 'isVirtualCopy' then return false end
  error('getRawMetadata: the stand-in does not know the key ' .. tostring(key), 2)
end
function PhotoMethods:getFormattedMetadata(key)
  if key == 'fileName' then return LrPathUtils.leafName(self._meta.path) end
  error('getFormattedMetadata: the stand-in does not know the key ' .. tostring(key), 2)
end
function PhotoMethods:getDevelopSettings() return deepCopy(self._settings) end
function PhotoMethods:applyDevelopSettings(settings, historyName, flattenAutoNow)
  requireWrite('LrPhoto:applyDevelopSettings')
  if type(settings) ~= 'table' then error('applyDevelopSettings: settings must be a table', 2) end
  for k, v in pairs(settings) do self._settings[k] = deepCopy(v) end -- top-level keys replace whole values
  self._history[#self._history + 1] = historyName or 'Apply develop settings'
  sdk.applied[#sdk.applied + 1] = { photo = self, path = self._meta.path, settings = deepCopy(settings),
    historyName = historyName, write = #sdk.writes }
end
function PhotoMethods:updateAISettings()
  requireWrite('LrPhoto:updateAISettings')
  sdk.aiUpdates[#sdk.aiUpdates + 1] = self._meta.path
end
-- The photo as Lightroom shows it (develop settings and crop applied), at most width x height; the callback
-- runs later (from another task) with the JPEG data, or nil and why.
function PhotoMethods:requestJpegThumbnail(width, height, callback)
  local request = { photo = self }
  local data = host.jpegThumbnail(self._meta.path, width, height, self._settings)
  LrTasks.startAsyncTask(function() callback(data, data == nil and 'no preview' or nil) end, 'thumbnail')
  return request
end
-- Plug-in metadata: only fields that the plug-in's LrMetadataProvider declares; writes need write access.
local function declaredField(plugin, key)
  if type(plugin) ~= 'table' or plugin.id == nil then error('the first argument must be _PLUGIN', 3) end
  local fields = sdk.metadataFields()
  if not fields[key] then error('no metadata field "' .. tostring(key) .. '" is declared by the plug-in', 3) end
end
function PhotoMethods:setPropertyForPlugin(plugin, key, value)
  requireWrite('LrPhoto:setPropertyForPlugin')
  declaredField(plugin, key)
  if value ~= nil and type(value) ~= 'string' and type(value) ~= 'number' then
    error('setPropertyForPlugin: a ' .. type(value) .. ' cannot be stored', 2)
  end
  self._properties[key] = value
end
function PhotoMethods:getPropertyForPlugin(plugin, key)
  declaredField(plugin, key)
  return self._properties[key]
end
function PhotoMethods:history() return self._history end

Photo.__index = function(photo, key)
  if key == 'updateAISettings' and sdk.noUpdateAISettings then error('LrPhoto has no member "' .. key .. '"', 2) end
  local m = PhotoMethods[key]
  if m then return m end
  error('LrPhoto has no member "' .. tostring(key) .. '"', 2)
end

function sdk.addPhoto(path, fileFormat, uuid, settings)
  local photo = setmetatable({ localIdentifier = #catalog.photos + 1, _meta = { path = path,
    fileFormat = fileFormat, uuid = uuid }, _settings = settings or {}, _history = { 'Import' },
    _properties = {} }, Photo)
  catalog.photos[#catalog.photos + 1] = photo
  return photo
end

local Catalog = {}
Catalog.__index = Catalog
function Catalog:getPath() return catalog.path end
function Catalog:getTargetPhotos()
  local out = {}
  for i, p in ipairs(catalog.selection or catalog.photos) do out[i] = p end
  return out
end
function Catalog:getTargetPhoto() return (catalog.selection or catalog.photos)[1] end
function Catalog:batchGetRawMetadata(photos, keys)
  local out = {}
  for _, photo in ipairs(photos) do
    local row = {}
    for _, key in ipairs(keys) do row[key] = photo:getRawMetadata(key) end
    out[photo] = row
  end
  return out
end
function Catalog:withWriteAccessDo(actionName, fn, timeoutParams)
  requireTask('LrCatalog:withWriteAccessDo')
  if catalog.writeAccess then error('LrCatalog:withWriteAccessDo cannot be nested', 2) end
  if sdk.writeBusy then
    return 'aborted'
  end
  local write = { name = actionName, before = #sdk.applied }
  sdk.writes[#sdk.writes + 1] = write
  catalog.writeAccess = true
  local co = coroutine.create(fn)
  taskCoroutines[co] = true -- still inside the task, but a yield here is refused below
  local ok, err = coroutine.resume(co, {})
  local yielded = ok and coroutine.status(co) ~= 'dead'
  catalog.writeAccess = false
  write.count = #sdk.applied - write.before
  if yielded then error('Yielding is not allowed within catalog:withWriteAccessDo (' .. actionName .. ')', 2) end
  if not ok then error(err, 0) end
  return 'executed'
end
local catalogObject = setmetatable({}, Catalog)

function sdk.select(photos) catalog.selection = photos end
function sdk.setCatalogPath(path) catalog.path = path end

local LrApplication = {
  activeCatalog = function() return catalogObject end,
  versionString = function() return '13.0' end,
  versionTable = function() return { major = 13, minor = 0, revision = 0, build = 0 } end,
}

------------------------------------------------------------------------------------------------------------------
-- The plug-in environment: import, require, strict globals
------------------------------------------------------------------------------------------------------------------
local namespaces = {
  LrTasks = LrTasks, LrFunctionContext = LrFunctionContext, LrProgressScope = LrProgressScope,
  LrDialogs = LrDialogs, LrView = LrView, LrBinding = LrBinding, LrPrefs = LrPrefs, LrLogger = LrLogger,
  LrPathUtils = LrPathUtils, LrFileUtils = LrFileUtils, LrStringUtils = LrStringUtils, LrUUID = LrUUID,
  LrHttp = LrHttp, LrApplication = LrApplication,
}
sdk.namespaces = namespaces

local modules = {}
local pluginEnv

local function loadPluginFile(name)
  local path = sdk.pluginPath .. '/' .. name
  local chunk, err = loadfile(path)
  if not chunk then error('could not load ' .. name .. ': ' .. tostring(err), 3) end
  setfenv(chunk, pluginEnv)
  return chunk
end

local function makeEnv()
  local base = {
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall, print = print,
    select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack, xpcall = xpcall,
    getmetatable = getmetatable, setmetatable = setmetatable, rawget = rawget, rawset = rawset,
    rawequal = rawequal, loadstring = loadstring, setfenv = setfenv, getfenv = getfenv,
    string = string, table = table, math = math, os = os, io = io, coroutine = coroutine,
    import = function(name)
      local ns = namespaces[name]
      if ns == nil then error('import: no SDK namespace "' .. tostring(name) .. '" in the stand-in', 2) end
      return ns
    end,
    require = function(name)
      if modules[name] == nil then
        local chunk = loadPluginFile(name .. '.lua')
        local result = chunk()
        modules[name] = result == nil and true or result
      end
      return modules[name]
    end,
    _PLUGIN = { path = sdk.pluginPath, id = 'org.airetouch.lightroom', enabled = true },
    WIN_ENV = sdk.WIN_ENV, MAC_ENV = sdk.MAC_ENV,
  }
  return setmetatable({}, {
    __index = function(_, k)
      local v = base[k]
      if v == nil and k ~= 'WIN_ENV' and k ~= 'MAC_ENV' then
        error('attempt to read undeclared global "' .. tostring(k) .. '"', 2)
      end
      return v
    end,
    __newindex = function(_, k) error('attempt to assign to undeclared global "' .. tostring(k) .. '"', 2) end,
  })
end

-- Sets the plug-in folder, the OS ('mac' or 'win'), the home and temp folders and resets the loaded modules.
function sdk.init(pluginPath, osName, home, temp)
  sdk.pluginPath = pluginPath
  sdk.MAC_ENV = osName == 'mac' or nil
  sdk.WIN_ENV = osName == 'win' or nil
  sdk.home = home or sdk.home
  sdk.temp = temp or sdk.temp
  modules = {}
  pluginEnv = makeEnv()
end

-- The ids of the fields in the plug-in's LrMetadataProvider (Info.lua), as Lightroom reads them at load time.
function sdk.metadataFields()
  if not sdk._fields then
    local info = loadPluginFile('Info.lua')()
    local fields = {}
    if info.LrMetadataProvider then
      for _, field in ipairs(loadPluginFile(info.LrMetadataProvider)().metadataFieldsForPhotos or {}) do
        fields[field.id] = field
      end
    end
    sdk._fields = fields
  end
  return sdk._fields
end

-- What Lightroom does when a menu item is chosen: run its file.
function sdk.runScript(name)
  loadPluginFile(name)()
end

-- Loads a plug-in file and returns what it returns (Info.lua, PluginInfoProvider.lua, a module).
function sdk.load(name)
  return loadPluginFile(name)()
end

function sdk.require(name)
  return pluginEnv.require(name)
end

return sdk
