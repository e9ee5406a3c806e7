"""Learn a photographer's style from a Lightroom catalog: every edited photo becomes one feedback event.

For each edited photo whose file is there and decodes, the event pairs what our predictor proposes for it
(`propose`, injected: this package does not import vision or retouch) with the settings the photographer
kept in the catalog. Globals the proposal leaves alone are taken from the photo's import settings, so the
memory learns what the photographer changed, not Lightroom's defaults for that camera. The catalog is only
read (see `lrcat`); a locked, damaged or foreign file raises before anything is written to the store.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from bridge_server.core.errors import DecodeError, PlanError, RetouchError
from bridge_server.core.plan import RetouchPlan

from .lrcat import LightroomCatalog
from .settings import settings_to_plan, with_baseline
from .store import CatalogStore, FeedbackEvent, MemoryStores, plan_digest

log = logging.getLogger(__name__)

Propose = Callable[[Path], tuple[RetouchPlan, Sequence[float], Sequence[str]]]
Progress = Callable[[int, int, str], None]

# Reasons a photo is not learned from (keys of LearnSummary.skipped).
NOT_EDITED = "not_edited"
FILE_MISSING = "file_missing"
UNREADABLE_SETTINGS = "unreadable_settings"
DECODE_FAILED = "decode_failed"
ANALYSIS_FAILED = "analysis_failed"
ALREADY_LEARNED = "already_learned"
NOT_A_PHOTO = "not_a_photo"
NON_PHOTO_FORMATS = frozenset({"VIDEO"})
MAX_ERRORS = 50


@dataclass
class LearnSummary:
    read: int = 0  # images read from the catalog
    learned: int = 0  # events written
    skipped: dict[str, int] = field(default_factory=dict)
    catalog_id: str | None = None  # the catalog file's own id (Adobe_storeProviderID)
    errors: list[dict] = field(default_factory=list)  # first problems, for people: photo, reason, message
    cancelled: bool = False

    def skip(self, reason: str, path: str, message: str | None = None) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if message and len(self.errors) < MAX_ERRORS:
            self.errors.append({"photo": path, "reason": reason, "message": message})

    def to_dict(self) -> dict:
        return {"read": self.read, "learned": self.learned, "skipped": dict(self.skipped),
                "catalog_id": self.catalog_id, "errors": list(self.errors), "cancelled": self.cancelled}


def learn_from_catalog(lrcat_path: str | Path, store: CatalogStore, propose: Propose,
                       progress: Progress | None = None, *, cancel: Callable[[], bool] | None = None,
                       batch: int = 100) -> LearnSummary:
    """Read the catalog and add one event per edited, readable photo to `store`.

    `propose(path) -> (plan, scene_vector, scene_tags)` runs our predictor on a photo file; `progress(done,
    total, path)` is called per image; `cancel()` returning True stops after the current photo (events
    learned so far are kept). Learning twice is harmless: a photo already learned with the same kept
    settings is skipped, a re-edited one replaces its earlier event.
    """
    summary = LearnSummary()
    with LightroomCatalog(lrcat_path) as catalog:  # raises before anything is written
        info = catalog.info()
        summary.catalog_id = info.catalog_id
        total = info.image_count
        pending: list[FeedbackEvent] = []
        for image in catalog.images():
            summary.read += 1
            if progress is not None:
                progress(summary.read, total, image.path)
            if cancel is not None and cancel():
                summary.cancelled = True
                break
            event = _event_for(image, catalog.path, store, propose, summary)
            if event is not None:
                pending.append(event)
            if len(pending) >= batch:
                summary.learned += len(store.add_events(pending))
                pending = []
        if pending:
            summary.learned += len(store.add_events(pending))
    log.info("learned from %s: %s", lrcat_path, summary.to_dict())
    return summary


def _event_for(image, catalog_path: Path, store: CatalogStore, propose: Propose,
               summary: LearnSummary) -> FeedbackEvent | None:
    label = image.path
    if (image.file_format or "").upper() in NON_PHOTO_FORMATS:
        summary.skip(NOT_A_PHOTO, label)
        return None
    if image.settings is None:
        summary.skip(UNREADABLE_SETTINGS, label, image.settings_error)
        return None
    if not image.edited:
        summary.skip(NOT_EDITED, label)
        return None
    try:
        final = settings_to_plan(image.settings, is_raw=image.is_raw)
    except PlanError as exc:
        summary.skip(UNREADABLE_SETTINGS, label, exc.message)
        return None
    if store.has_event(image.uuid, plan_digest(final)):
        summary.skip(ALREADY_LEARNED, label)
        return None
    file = image.existing_path(catalog_path)
    if file is None:
        summary.skip(FILE_MISSING, label, "the photo is not at its catalog path (nor beside the catalog)")
        return None
    try:
        proposed, vector, tags = propose(file)
    except DecodeError as exc:
        summary.skip(DECODE_FAILED, label, exc.message)
        return None
    except OSError as exc:
        summary.skip(DECODE_FAILED, label, f"cannot read the file ({exc.strerror or exc})")
        return None
    except RetouchError as exc:
        summary.skip(ANALYSIS_FAILED, label, exc.message)
        return None
    except Exception as exc:  # noqa: BLE001 - one bad photo must not end a catalog-wide job
        log.exception("%s: analysis failed", label)
        summary.skip(ANALYSIS_FAILED, label, f"{type(exc).__name__}: {exc}")
        return None
    proposed = with_baseline(proposed, image.import_settings, is_raw=image.is_raw)
    when = image.last_edit_time or image.capture_time
    return FeedbackEvent(photo_key=image.uuid, photo_path=str(file), proposed=proposed, final=final,
                         scene_vector=list(vector), scene_tags=list(tags), source="lrcat",
                         time=when.timestamp() if when is not None else time.time())


def learn_catalog_file(lrcat_path: str | Path, propose: Propose, *, catalog_id: str | None = None,
                       stores: MemoryStores | None = None, progress: Progress | None = None,
                       cancel: Callable[[], bool] | None = None) -> tuple[CatalogStore, LearnSummary]:
    """Find the memory of this catalog file (by the plugin's `catalog_id` when given, else by the file's
    path, remembering the file's own id as an alias) and learn into it. The catalog is checked first:
    a locked or damaged file raises before any memory is created."""
    path = Path(lrcat_path)
    with LightroomCatalog(path) as catalog:
        own_id = catalog.info().catalog_id
    if stores is None:
        from .memory import default_stores  # noqa: PLC0415
        stores = default_stores()
    alias = f"lrcat:{own_id}" if own_id else None
    if catalog_id is None and alias is not None:
        catalog_id = stores.catalog_id_for(alias)  # learned from this file before, wherever it was then
    store = stores.open(catalog_id, path=path.resolve(), name=path.stem, aliases=[alias] if alias else [])
    return store, learn_from_catalog(path, store, propose, progress, cancel=cancel)
