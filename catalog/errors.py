"""Typed errors of the catalog package: Lightroom catalogs we cannot read, and memory stores we cannot use."""
from __future__ import annotations

from bridge_server.core.errors import RetouchError


class CatalogError(RetouchError):
    """A Lightroom catalog (.lrcat) cannot be read."""

    code = "catalog_error"
    http_status = 422


class CatalogNotFoundError(CatalogError):
    code = "catalog_not_found"
    http_status = 404


class CatalogLockedError(CatalogError):
    """Lightroom (or another program) holds the catalog: a lock file, or SQLite reports it busy."""

    code = "catalog_locked"
    http_status = 409


class NotACatalogError(CatalogError):
    """The file is not an SQLite database, or it is one without Lightroom's tables."""

    code = "not_a_catalog"


class CorruptCatalogError(CatalogError):
    """An SQLite file whose pages are damaged (integrity check fails, truncated copy...)."""

    code = "catalog_corrupt"


class SettingsParseError(CatalogError):
    """A develop-settings text (Lua table, plain or compressed) cannot be read."""

    code = "unreadable_settings"


class MemoryStoreError(RetouchError):
    """The style-memory database of a catalog cannot be used."""

    code = "memory_store_error"
    http_status = 500


class StoreVersionError(MemoryStoreError):
    """The memory file was written by a newer version of this program; it is left untouched."""

    code = "memory_store_too_new"
    http_status = 409


class CatalogIdentityError(MemoryStoreError):
    """A request names no catalog (neither its id nor its path), or names it inconsistently."""

    code = "catalog_identity_missing"
    http_status = 400


class MemoryImportError(MemoryStoreError):
    """A memory export (JSON) is malformed; nothing was imported."""

    code = "invalid_memory_export"
    http_status = 422
