"""Per-catalog style memory: SQLite storage, scene-aware preferences, reading Lightroom catalogs.

- `store`: one SQLite memory per catalog (or watch profile), found by the catalog's stable id or its path.
- `memory`: `StyleMemory.adjust(plan, scene_vector, tags)` shifts a proposal toward this photographer's
  habits in similar scenes; presets, export/import and reset.
- `lrcat`: read a Lightroom catalog (a private read-only copy) with typed errors for locked/damaged files.
- `learn`: turn a catalog's edited photos into feedback events.

Depends on `bridge_server.core` and `bridge_server.lightroom` only; the predictor and the scene descriptor
come in as plain data or injected callables.
"""
from .errors import (
    CatalogError, CatalogIdentityError, CatalogLockedError, CatalogNotFoundError, CorruptCatalogError,
    MemoryImportError, MemoryStoreError, NotACatalogError, SettingsParseError, StoreVersionError,
)
from .learn import LearnSummary, learn_catalog_file, learn_from_catalog
from .lrcat import CatalogImage, CatalogInfo, LightroomCatalog, open_catalog
from .memory import MemoryResult, MemorySettings, StyleMemory, StylePreset, default_stores
from .store import CatalogStore, FeedbackEvent, MemoryStores, photo_key

__all__ = [
    "CatalogError", "CatalogIdentityError", "CatalogImage", "CatalogInfo", "CatalogLockedError",
    "CatalogNotFoundError", "CatalogStore", "CorruptCatalogError", "FeedbackEvent", "LearnSummary",
    "LightroomCatalog", "MemoryImportError", "MemoryResult", "MemorySettings", "MemoryStoreError",
    "MemoryStores", "NotACatalogError", "SettingsParseError", "StoreVersionError", "StyleMemory", "StylePreset",
    "default_stores", "learn_catalog_file", "learn_from_catalog", "open_catalog", "photo_key",
]
