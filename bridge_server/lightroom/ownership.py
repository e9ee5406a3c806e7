"""Which corrections and spots are ours, so a merge replaces only what we wrote and never the photographer's.

We record the sync id of every correction and spot we write, with a digest of its content, in our own XMP
namespace (`airetouch`, http://ns.airetouch.org/1.0/), or hand the same record to the plugin. Identity is the
sync id, never the name: a correction the photographer made (whatever it is called) is never ours, and one
of ours that the photographer changed afterwards (renamed, edited, switched off, re-masked) no longer matches
its digest, so it is adopted as theirs and kept.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..core.params import LOCAL_PARAMS, is_default
from ..core.plan import OURS, USER, RegionEdit, RetouchPlan, Spot
from ..core.regions import REGION_BY_KEY
from .settings import as_float, as_text

RECORD_VERSION = 1


def _r(value: Any) -> Any:
    """Numbers rounded to 6 decimals (what XMP keeps), recursively, for stable digests."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 6)
    if isinstance(value, (list, tuple)):
        return [_r(v) for v in value]
    if isinstance(value, dict):
        return {k: _r(v) for k, v in sorted(value.items())}
    return str(value)


def _hash(content: Any) -> str:
    """A 32-hex digest of JSON content."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32].upper()


def edit_digest(edit: RegionEdit) -> str:
    """A digest of what a photographer can change in a correction (not ids, not Lightroom's cached data)."""
    values = {k: v for k, v in edit.values.items() if not is_default(LOCAL_PARAMS[k], v)}
    masks = [[m.kind, m.region, m.mode, m.inverted, m.value, m.geometry] for m in edit.masks]
    return _hash(_r([edit.name, edit.amount, edit.active, values, masks]))


def spot_digest(spot: Spot) -> str:
    """A digest of a spot's position, size, source and strength."""
    return _hash(_r([spot.kind, spot.x, spot.y, spot.size_x, spot.size_y, spot.source_x, spot.source_y,
                     spot.opacity, spot.feather]))


def spot_sync_id(spot: Spot) -> str | None:
    """A spot's identity: the sync id of its destination mask."""
    mask = spot.extra.get("Mask")
    if isinstance(mask, dict) and mask.get("MaskSyncID"):
        return str(mask["MaskSyncID"])
    masks = spot.extra.get("Masks")
    if isinstance(masks, list) and masks and isinstance(masks[0], dict) and masks[0].get("MaskSyncID"):
        return str(masks[0]["MaskSyncID"])
    return None


@dataclass
class OwnedCorrection:
    """What we know about a correction we wrote: its region (incl. person), confidence, content digest."""

    region: str
    digest: str
    person: int | None = None
    confidence: float | None = None


@dataclass
class Ownership:
    """Our corrections (by CorrectionSyncID) and spots (by mask sync id, with their digests)."""

    corrections: dict[str, OwnedCorrection] = field(default_factory=dict)
    spots: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_plan(cls, plan: RetouchPlan) -> "Ownership":
        """The record for a completed plan's own edits (origin OURS)."""
        record = cls()
        for edit in plan.regions:
            if edit.origin == OURS and edit.sync_id:
                record.corrections[edit.sync_id] = OwnedCorrection(edit.region, edit_digest(edit), edit.person,
                                                                   edit.confidence)
        for spot in plan.spots:
            sync = spot_sync_id(spot)
            if spot.origin == OURS and sync:
                record.spots[sync] = spot_digest(spot)
        return record

    def owns_edit(self, edit: RegionEdit) -> bool:
        """True when the edit is ours and unchanged since we wrote it."""
        rec = self.corrections.get(edit.sync_id or "")
        return rec is not None and rec.digest == edit_digest(edit)

    def owns_spot(self, spot: Spot) -> bool:
        """True when the spot is ours and unchanged since we wrote it."""
        sync = spot_sync_id(spot)
        return sync is not None and self.spots.get(sync) == spot_digest(spot)

    def apply(self, plan: RetouchPlan) -> list[str]:
        """Mark our unchanged edits and spots OURS (restoring region/person); return adopted sync ids."""
        adopted = []
        for edit in plan.regions:
            rec = self.corrections.get(edit.sync_id or "")
            if rec is None:
                continue
            if rec.digest == edit_digest(edit):
                edit.origin, edit.person, edit.confidence = OURS, rec.person, rec.confidence
                if rec.region in REGION_BY_KEY:
                    edit.region = rec.region
            else:
                edit.origin = USER
                adopted.append(edit.sync_id)
        for spot in plan.spots:
            sync = spot_sync_id(spot)
            if sync in self.spots:
                if self.owns_spot(spot):
                    spot.origin = OURS
                else:
                    adopted.append(sync)
        return adopted

    # -- JSON (for the plugin) and XMP values (for our namespace) ------------------------------------------
    def to_dict(self) -> dict:
        """JSON form: what the plugin keeps per photo when it applies settings through the SDK."""
        return {"version": RECORD_VERSION,
                "corrections": {k: {kk: vv for kk, vv in v.__dict__.items() if vv is not None}
                                for k, v in self.corrections.items()},
                "spots": dict(self.spots)}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Ownership":
        """Inverse of to_dict (unknown or damaged entries are ignored: they are then simply not ours)."""
        record = cls()
        for sync, item in ((data or {}).get("corrections") or {}).items():
            if isinstance(item, dict) and "region" in item and "digest" in item:
                record.corrections[str(sync)] = OwnedCorrection(str(item["region"]), str(item["digest"]),
                                                                item.get("person"), item.get("confidence"))
        record.spots = {str(k): str(v) for k, v in ((data or {}).get("spots") or {}).items()}
        return record

    def to_xmp_fields(self) -> dict[str, Any]:
        """The record as airetouch properties (values for rdf.Writer)."""
        corrections = []
        for sync, rec in self.corrections.items():
            item: dict[str, Any] = {"SyncID": sync, "Region": rec.region}
            if rec.person is not None:
                item["Person"] = rec.person
            if rec.confidence is not None:
                item["Confidence"] = rec.confidence
            item["Digest"] = rec.digest
            corrections.append(item)
        spots = [{"SyncID": sync, "Digest": digest} for sync, digest in self.spots.items()]
        out: dict[str, Any] = {"RecordVersion": RECORD_VERSION}
        if corrections:
            out["Corrections"] = corrections
        if spots:
            out["Spots"] = spots
        return out

    @classmethod
    def from_xmp_fields(cls, fields: dict[str, Any]) -> "Ownership":
        """Read the record from airetouch properties (as rdf.property_value returns them)."""
        record = cls()
        for item in _items(fields.get("Corrections")):
            try:
                person = item.get("Person")
                conf = item.get("Confidence")
                record.corrections[as_text(item["SyncID"])] = OwnedCorrection(
                    as_text(item["Region"]), as_text(item["Digest"]),
                    int(as_float(person)) if person not in (None, "") else None,
                    as_float(conf) if conf not in (None, "") else None)
            except (KeyError, ValueError, TypeError):
                continue
        for item in _items(fields.get("Spots")):
            if "SyncID" in item and "Digest" in item:
                record.spots[as_text(item["SyncID"])] = as_text(item["Digest"])
        return record


def _items(value: Any) -> list[dict]:
    """The struct items of a Seq value."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
