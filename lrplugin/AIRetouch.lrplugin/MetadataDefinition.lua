--[[ MetadataDefinition.lua: the plug-in's own (hidden) per-photo field.

  proposedPlan: the plan AI Retouch applied last (JSON), kept with the photo in the catalog so that
  "Teach AI Retouch from these edits" can tell the bridge what it proposed and what the photographer kept.
  No title: Lightroom does not show it in the Metadata panel. ]]

return {
  metadataFieldsForPhotos = {
    { id = 'proposedPlan', dataType = 'string', searchable = false, browsable = false },
  },
  schemaVersion = 1,
}
