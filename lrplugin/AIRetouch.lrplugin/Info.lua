--[[ Info.lua: what Lightroom Classic reads to load the AI Retouch plug-in.
  Library › Plug-in Extras (and File › Plug-in Extras) get the four actions; the Plug-in Manager shows the
  section from PluginInfoProvider.lua. Local corrections (MaskGroupBasedCorrections) through
  applyDevelopSettings need Lightroom Classic 11 or later. ]]

local menuItems = {
  { title = 'AI Retouch…', file = 'RetouchAction.lua', enabledWhen = 'photosSelected' },
  { title = 'Match a look from the active photo…', file = 'MatchAction.lua', enabledWhen = 'photosSelected' },
  { title = 'Teach AI Retouch from these edits', file = 'TeachAction.lua', enabledWhen = 'photosSelected' },
  { title = 'Save my style as a preset', file = 'PresetAction.lua' },
}

return {
  LrSdkVersion = 13.0,
  LrSdkMinimumVersion = 11.0,
  LrToolkitIdentifier = 'org.airetouch.lightroom',
  LrPluginName = 'AI Retouch',
  LrPluginInfoProvider = 'PluginInfoProvider.lua',
  LrMetadataProvider = 'MetadataDefinition.lua',
  LrLibraryMenuItems = menuItems,
  LrExportMenuItems = menuItems,
  VERSION = { major = 0, minor = 1, revision = 0, build = 1, display = '0.1.0' },
}
