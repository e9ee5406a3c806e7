"""The style memory: shift a proposed plan toward what this photographer kept in similar scenes.

Every feedback event gives, per region and parameter, an offset `final - proposed` (global settings are
region "global"; local values count as value x amount). For a new photo the offset of each slot is a kernel
average over past events, weighted by scene similarity (Gaussian on the scene-vector distance, with tag
disagreement added) and by recency, and shrunk toward zero while evidence is thin:

    offset = sum(w_i * o_i) / (sum(w_i) + k)         (= weighted mean x n_eff / (n_eff + k), n_eff = sum w_i)

A second, wider kernel gives the prior the narrow one shrinks toward, so habits shared by related scenes
carry over; scenes further apart than `max_distance` never inform each other, so a scene unlike any in
the history stays untouched. Recency counts back from the newest edit (half-life a year). The result never
moves a value outside the photographer's own range for that slot (the values they kept, plus a small
margin) nor outside the parameter table's range. With no history the plan comes back unchanged.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from bridge_server.core.errors import PlanError
from bridge_server.core.params import GLOBAL_PARAMS, LOCAL_PARAMS, NUMBER, Param
from bridge_server.core.plan import OURS, Note, RegionEdit, RetouchPlan
from bridge_server.core.regions import AI, REGION_BY_KEY

from .store import CatalogStore, FeedbackEvent, MemoryStores, photo_key

GLOBAL = "global"
Slot = tuple[str, str]  # (region key or "global", parameter name)

# Hues are circular and vignette style is a choice: averaging them means nothing.
_SKIP_GLOBAL = {n for n, p in GLOBAL_PARAMS.items() if p.unit == "deg"} | {"PostCropVignetteStyle"}
LEARNED_GLOBALS = tuple(n for n, p in GLOBAL_PARAMS.items() if p.kind == NUMBER and n not in _SKIP_GLOBAL)
LEARNED_LOCALS = tuple(n for n, p in LOCAL_PARAMS.items()
                       if p.kind == NUMBER and n not in ("CurveRefineSaturation", "ToningHue"))
ABSOLUTE_WB = ("Temperature", "Tint")
INCREMENTAL_WB = ("IncrementalTemperature", "IncrementalTint")

NEW_EDIT_MIN = 0.3  # a region the plan did not edit gets a new edit only for a change of 3 slider units / 0.08 EV
NOTE_MIN = 0.1  # notes name changes from 1 slider unit / 0.025 EV
_REGION_WORDS = {"global": "overall", "face_skin": "faces", "sky": "skies", "landscape_sky": "skies",
                 "background": "backgrounds", "subject": "subjects", "body_skin": "skin", "person": "people",
                 "eyes": "eyes", "lips": "lips", "hair": "hair", "teeth": "teeth", "clothes": "clothes",
                 "water": "water", "vegetation": "greenery", "architecture": "buildings"}
_NOUN_TAGS = {"portrait": "portraits", "group": "group photos", "landscape": "landscapes",
              "headshot": "headshots", "couple": "couples", "wedding": "weddings", "event": "events",
              "cityscape": "cityscapes", "still_life": "still lifes", "product": "product shots"}


@dataclass
class MemorySettings:
    """Knobs of the model (scene vectors are about 0..1 per slot; distances are RMS over slots)."""

    # Defaults chosen with bench/personalization.py on the real scene descriptor (16 slots): variations of one
    # photo lie about 0.07 apart, different photos 0.45, indoor portraits and outdoor landscapes 0.5 (plus
    # their differing tags, which is what keeps those two apart).
    bandwidth: float = 0.25  # Gaussian kernel width on the scene distance
    wide_factor: float = 2.0  # the prior's kernel is this many times wider
    tag_weight: float = 0.7  # distance added by fully different tags (Jaccard distance x this)
    shrink: float = 1.0  # k: an estimate from n_eff similar events keeps n_eff / (n_eff + k) of its size
    prior_shrink: float = 0.5  # k of the wide prior
    half_life_days: float = 365.0  # an edit this much older than the newest one counts half
    margin: float = 0.1  # room beyond the photographer's own range, as a share of that range...
    min_margin: float = 0.02  # ...but at least this share of the parameter's full range
    similar: float = 0.5  # kernel weight from which a past photo counts as "similar" in notes
    max_distance: float = 0.6  # scenes further apart than this never inform each other


@dataclass
class Adjustment:
    region: str
    param: str
    offset: float  # what the memory suggested
    change: float  # what was applied after bounds (effective units: local values x amount)
    evidence: float  # n_eff: kernel-weighted number of past events behind it


@dataclass
class MemoryResult:
    plan: RetouchPlan
    confidence: float  # 0 (no similar history) .. 1
    note: str
    adjustments: list[Adjustment] = field(default_factory=list)
    n_events: int = 0
    n_similar: int = 0


@dataclass
class StylePreset:
    name: str
    group: str  # a scene tag, or "all"
    n_events: int
    plan: RetouchPlan


def plan_slots(plan: RetouchPlan) -> tuple[dict[Slot, float], set[str]]:
    """Numeric values of a plan by slot (local values as value x amount, averaged over edits of one
    region) and the set of regions it edits."""
    out: dict[Slot, float] = {}
    for name in LEARNED_GLOBALS:
        value = plan.global_.get(name)
        if value is None:
            value = GLOBAL_PARAMS[name].default
        if value is not None:
            out[(GLOBAL, name)] = float(value)
    sums: dict[Slot, list[float]] = {}
    regions: set[str] = set()
    for edit in plan.regions:
        if not edit.active:
            continue
        regions.add(edit.region)
        for name in LEARNED_LOCALS:
            value = edit.values.get(name, LOCAL_PARAMS[name].default)
            sums.setdefault((edit.region, name), []).append(float(value) * float(edit.amount))
    for slot, values in sums.items():
        out[slot] = sum(values) / len(values)
    return out, regions


class _Model:
    """Events as arrays: offsets and kept values per slot (NaN where a slot was not observed)."""

    def __init__(self, events: Sequence[FeedbackEvent]):
        self.events = list(events)
        rows = []
        slots: dict[Slot, int] = {}
        for event in self.events:
            proposed, _ = plan_slots(event.proposed)
            final, _ = plan_slots(event.final)
            row_off, row_fin = {}, {}
            for slot in set(proposed) | set(final):
                region, name = slot
                # A region edited on one side only is at its defaults on the other (no edit = defaults);
                # a global without a default (absolute white balance) needs both sides.
                default = None if region == GLOBAL else LOCAL_PARAMS[name].default
                p, f = proposed.get(slot, default), final.get(slot, default)
                if p is None or f is None:
                    continue
                row_off[slot] = f - p
                row_fin[slot] = f
                slots.setdefault(slot, len(slots))
            rows.append((row_off, row_fin))
        self.slots = list(slots)
        n, s = len(rows), len(self.slots)
        self.offsets = np.full((n, s), np.nan)
        self.finals = np.full((n, s), np.nan)
        for i, (row_off, row_fin) in enumerate(rows):
            for slot, value in row_off.items():
                self.offsets[i, slots[slot]] = value
                self.finals[i, slots[slot]] = row_fin[slot]
        self.observed = ~np.isnan(self.offsets)
        self.times = np.array([e.time for e in self.events], dtype=float)
        self.tags = [set(e.scene_tags) for e in self.events]
        self.vectors = [np.asarray(e.scene_vector, dtype=float) for e in self.events]
        with np.errstate(all="ignore"):
            self.lo = np.nanmin(np.where(self.observed, self.finals, np.nan), axis=0) if n else np.zeros(0)
            self.hi = np.nanmax(np.where(self.observed, self.finals, np.nan), axis=0) if n else np.zeros(0)

    def distances(self, vector: Sequence[float], tags: Iterable[str], tag_weight: float) -> np.ndarray:
        v = np.asarray(list(vector), dtype=float)
        t = {str(x).strip().lower() for x in tags if str(x).strip()}
        out = np.empty(len(self.events))
        for i, (vi, ti) in enumerate(zip(self.vectors, self.tags)):
            union = t | ti
            jaccard = len(t & ti) / len(union) if union else 1.0
            d2 = (tag_weight * (1.0 - jaccard)) ** 2
            if len(vi) == len(v) and len(v):
                d2 += float(np.mean((vi - v) ** 2))
            elif len(v) or len(vi):
                d2 += 0.25  # vectors from different descriptors: only tags compare, at a penalty
            out[i] = d2
        return out


class StyleMemory:
    """The model of one catalog's memory. Reads its events from a `CatalogStore` (re-reading them whenever
    the store changes, so feedback counts at once) or from a given list of events."""

    def __init__(self, store: CatalogStore | None = None, *, events: Sequence[FeedbackEvent] | None = None,
                 settings: MemorySettings | None = None, label: str | None = None):
        if store is None and events is None:
            events = []
        self.store = store
        self.settings = settings or MemorySettings()
        self.label = label
        self._events = list(events) if events is not None else None
        self._cached: tuple[int, _Model] | None = None

    # -- data ---------------------------------------------------------------------------------------------
    def _model(self) -> _Model:
        revision = self.store.revision() if self.store is not None else -1
        if self._cached is None or self._cached[0] != revision:
            events = self.store.events() if self.store is not None else self._events
            self._cached = (revision, _Model(events))
        return self._cached[1]

    @classmethod
    def for_catalog(cls, catalog: dict | str, *, stores: MemoryStores | None = None,
                    settings: MemorySettings | None = None) -> "StyleMemory":
        """The memory of a catalog named as the API does: {"id", "path", "name"} (either id or path), an
        id string, or {"id": "profile:NAME"} for a watch-folder profile."""
        if isinstance(catalog, str):
            catalog = {"id": catalog}
        stores = stores or default_stores()
        store = stores.open(catalog.get("id"), path=catalog.get("path"), name=catalog.get("name"))
        return cls(store, settings=settings, label=store.identity().catalog_id)

    def add(self, event: FeedbackEvent) -> None:
        """Remember one piece of feedback; the next `adjust` uses it."""
        if self.store is not None:
            self.store.add_event(event)
        else:
            self._events = [e for e in self._events if e.photo_key != event.photo_key] + [event]
        self._cached = None

    def record(self, scene_vector: Sequence[float], tags: Iterable[str] = (), *, kept: dict | RetouchPlan,
               proposed: RetouchPlan | dict | None, before: dict | RetouchPlan | None = None,
               is_raw: bool | None = None, photo_id: str | None = None, path: str | None = None,
               source: str = "plugin", scene_model: str | None = None, when: float | None = None) -> int:
        """Record what the photographer kept (`kept`: a develop-settings table or a plan) for a photo whose
        proposal was `proposed`. `before` (the photo's settings before our plan) fills the globals the
        proposal left alone. Returns the number of events now remembered."""
        from .settings import settings_to_plan, with_baseline  # noqa: PLC0415 - settings imports this module
        if proposed is None:
            raise PlanError("feedback needs the plan that was proposed for this photo", field="proposed")
        final = settings_to_plan(kept, is_raw=is_raw)
        prop = proposed if isinstance(proposed, RetouchPlan) else RetouchPlan.from_dict(proposed)
        prop = with_baseline(prop, before, is_raw=is_raw)
        key = photo_key(photo_id, path or None) if (photo_id or path) else f"scene:{plan_digest_short(final, scene_vector)}"
        self.add(FeedbackEvent(photo_key=key, photo_path=str(path) if path else None, proposed=prop,
                               final=final, scene_vector=list(scene_vector), scene_tags=list(tags),
                               source=source, scene_model=scene_model,
                               time=time.time() if when is None else when))
        return len(self)

    def summary(self, *, top: int = 12) -> dict:
        """What the memory holds, for people: events by source and scene, the strongest habits."""
        model = self._model()
        out: dict[str, Any] = {"events": len(model.events),
                               "sources": dict(Counter(e.source for e in model.events)),
                               "scene_groups": [{"tag": t, "events": c} for t, c in
                                                Counter(t for tags in model.tags for t in tags).most_common()]}
        if self.store is not None:
            out["catalog"] = self.store.identity().to_dict()
            if self.store.recovery:
                out["recovery"] = self.store.recovery
        habits = []
        for j, (region, name) in enumerate(model.slots):
            seen = model.observed[:, j]
            if not seen.any():
                continue
            mean = float(np.mean(model.offsets[seen, j]))
            p = (GLOBAL_PARAMS if region == GLOBAL else LOCAL_PARAMS)[name]
            if not _negligible(p, mean):
                habits.append({"region": region, "param": name, "mean_offset": _round(p, mean),
                               "events": int(seen.sum()), "_rank": _importance(p, mean)})
        habits.sort(key=lambda h: -h.pop("_rank"))
        out["habits"] = habits[:top]
        return out

    def reset(self) -> str | None:
        """Forget everything; the forgotten events are kept in a JSON file next to the store (returned)."""
        backup = self.store.reset() if self.store is not None else None
        if self.store is None:
            self._events = []
        self._cached = None
        return str(backup) if backup else None

    def export_json(self) -> dict:
        if self.store is not None:
            return self.store.export_json()
        from .store import EXPORT_FORMAT, EXPORT_VERSION  # noqa: PLC0415
        return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "events": [e.to_dict() for e in self._events]}

    def import_json(self, data: Any, *, replace: bool = False) -> int:
        if self.store is None:
            raise PlanError("this memory has no store to import into")
        count = self.store.import_json(data, replace=replace)
        self._cached = None
        return count

    def __len__(self) -> int:
        return len(self._model().events)

    # -- prediction -----------------------------------------------------------------------------------------
    def weights(self, scene_vector: Sequence[float], tags: Iterable[str], now: float | None = None,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(narrow weights, wide weights, kernel similarity without recency) of every past event."""
        model, cfg = self._model(), self.settings
        d2 = model.distances(scene_vector, list(tags), cfg.tag_weight)
        near = d2 <= cfg.max_distance ** 2
        kernel = np.exp(-d2 / (2 * cfg.bandwidth ** 2)) * near
        wide = np.exp(-d2 / (2 * (cfg.bandwidth * cfg.wide_factor) ** 2)) * near
        # Age counts back from the newest edit in the memory (unless `now` is given): a catalog edited
        # years ago still speaks fully; only edits older than the photographer's recent ones fade.
        newest = float(model.times.max()) if len(model.times) else 0.0
        ref = newest if now is None else now
        age_days = np.maximum(0.0, ref - model.times) / 86400.0
        recency = 0.5 ** (age_days / cfg.half_life_days) if cfg.half_life_days > 0 else np.ones_like(age_days)
        return kernel * recency, wide * recency, kernel

    def offsets(self, scene_vector: Sequence[float], tags: Iterable[str] = (), now: float | None = None,
                ) -> dict[Slot, tuple[float, float]]:
        """Predicted offset and evidence (n_eff) per slot for a scene."""
        model, cfg = self._model(), self.settings
        if not model.events:
            return {}
        w, w_wide, _ = self.weights(scene_vector, tags, now)
        return self._estimate(w, w_wide)

    def _estimate(self, w: np.ndarray, w_wide: np.ndarray) -> dict[Slot, tuple[float, float]]:
        model, cfg = self._model(), self.settings
        obs = model.observed
        o = np.where(obs, model.offsets, 0.0)
        n_wide = (w_wide[:, None] * obs).sum(axis=0)
        prior = (w_wide[:, None] * o).sum(axis=0) / (n_wide + cfg.prior_shrink)
        n_eff = (w[:, None] * obs).sum(axis=0)
        est = ((w[:, None] * o).sum(axis=0) + cfg.shrink * prior) / (n_eff + cfg.shrink)
        return {slot: (float(est[j]), float(n_eff[j])) for j, slot in enumerate(model.slots)}

    def adjust(self, plan: RetouchPlan, scene_vector: Sequence[float], tags: Iterable[str] = (), *,
               present_regions: Iterable[str] | None = None, is_raw: bool | None = None,
               now: float | None = None) -> MemoryResult:
        """The plan shifted toward this photographer's style for this scene (the input is not modified)."""
        tags = [str(t) for t in tags]
        model, cfg = self._model(), self.settings
        if not model.events:
            return MemoryResult(plan.copy(), 0.0, "no history yet: the plan is unchanged", [], 0, 0)
        w, w_wide, kernel = self.weights(scene_vector, tags, now)
        predicted = self._estimate(w, w_wide)
        out = plan.copy()
        if is_raw is None:
            is_raw = True if any(k in plan.global_ for k in ABSOLUTE_WB) else (
                False if any(k in plan.global_ for k in INCREMENTAL_WB) else None)
        present = set(present_regions) if present_regions is not None else None
        adjustments: list[Adjustment] = []
        new_edits: dict[str, RegionEdit] = {}
        for j, slot in enumerate(model.slots):
            offset, evidence = predicted[slot]
            region, name = slot
            if region == GLOBAL:
                p = GLOBAL_PARAMS[name]
                if (name in ABSOLUTE_WB and is_raw is not True) or (name in INCREMENTAL_WB and is_raw is not False):
                    continue
                base = out.global_.get(name, p.default)
                if base is None:
                    continue
                new = self._bounded(p, float(base), offset, model.lo[j], model.hi[j])
                if _negligible(p, new - float(base)):
                    continue
                out.global_[name] = _round(p, new)
                adjustments.append(Adjustment(region, name, offset, new - float(base), evidence))
                continue
            p = LOCAL_PARAMS[name]
            edits = [e for e in out.regions if e.region == region and e.active]
            if not edits:
                info = REGION_BY_KEY.get(region)
                if info is None or info.kind != AI or not info.writable or (present is not None
                                                                             and region not in present):
                    continue
                edits = [new_edits.setdefault(region, RegionEdit(region=region, origin=OURS))]
            applied = None
            for edit in edits:
                if edit.amount <= 0.05:
                    continue
                base_eff = float(edit.values.get(name, p.default)) * edit.amount
                new_eff = self._bounded(p, base_eff, offset, model.lo[j], model.hi[j], edit.amount)
                is_new = new_edits.get(region) is edit
                if _negligible(p, new_eff - base_eff) or (
                        is_new and _importance(p, new_eff - base_eff) < NEW_EDIT_MIN):
                    continue
                edit.values[name] = _round(p, new_eff / edit.amount)
                applied = new_eff - base_eff
            if applied is not None:
                adjustments.append(Adjustment(region, name, offset, applied, evidence))
        for edit in new_edits.values():
            if edit.values:
                out.regions.append(edit)
        n_eff = float(w.sum())
        confidence = n_eff / (n_eff + cfg.shrink)
        n_similar = int((kernel >= cfg.similar).sum())
        note = self._note(adjustments, model, kernel, n_similar)
        out.validate()
        if adjustments:
            out.add_note("memory", note)
        out.provenance["memory"] = {"events": len(model.events), "similar": n_similar,
                                    "confidence": round(confidence, 3),
                                    "adjusted": len(adjustments), **({"catalog": self.label} if self.label else {})}
        return MemoryResult(out, confidence, note, adjustments, len(model.events), n_similar)

    def _bounded(self, p: Param, base: float, offset: float, lo_user: float, hi_user: float,
                 amount: float = 1.0) -> float:
        """base + offset, kept inside the photographer's own range (never pushed further out than base)."""
        cfg = self.settings
        new = base + offset
        if not (math.isnan(lo_user) or math.isnan(hi_user)):
            margin = max(cfg.margin * (hi_user - lo_user), cfg.min_margin * (p.hi - p.lo))
            lo, hi = lo_user - margin, hi_user + margin
            new = min(new, max(hi, base))
            new = max(new, min(lo, base))
        lo_t, hi_t = p.lo * amount, p.hi * amount  # the table bounds the stored value, not value x amount
        return min(max(new, min(lo_t, hi_t)), max(lo_t, hi_t))

    # -- notes ------------------------------------------------------------------------------------------------
    def _note(self, adjustments: list[Adjustment], model: _Model, kernel: np.ndarray, n_similar: int) -> str:
        if not adjustments:
            return f"your style memory ({len(model.events)} edits) suggests no change for this scene"
        ranked = sorted(adjustments, key=lambda a: -_importance(_param(a), a.change))
        parts = [_describe(a) for a in ranked if _importance(_param(a), a.change) >= NOTE_MIN][:3]
        if not parts:
            parts = ["small shifts"]
        if n_similar:
            idx = np.flatnonzero(kernel >= self.settings.similar)
            counts = Counter(t for i in idx for t in model.tags[i])
            common = [t for t, c in counts.most_common() if c >= max(1, 0.6 * len(idx))][:2]
            return f"{', '.join(parts)}: your {n_similar} {_scene_phrase(common, n_similar)}"
        n = len(model.events)
        return f"{', '.join(parts)}: from your {n} past edit{'s' if n > 1 else ''} (none of a very similar scene)"

    # -- presets ----------------------------------------------------------------------------------------------
    def style_preset_plans(self, *, min_events: int = 3, max_groups: int = 6, now: float | None = None,
                           ) -> list[StylePreset]:
        """One plan per scene group (each frequent tag, and "all"): the values this photographer typically
        keeps there, global and per region. Absolute white balance is left out (it belongs to each photo)."""
        model = self._model()
        if not model.events:
            return []  # one kept edit is already a style for "all"; scene groups need `min_events` each
        counts = Counter(t for tags in model.tags for t in tags)
        groups = [("all", list(range(len(model.events))))]
        for tag, count in counts.most_common():
            if count >= min_events and len(groups) <= max_groups:
                groups.append((tag, [i for i, tags in enumerate(model.tags) if tag in tags]))
        ref = float(model.times.max()) if now is None else now
        recency = 0.5 ** (np.maximum(0.0, ref - model.times) / 86400.0 / max(self.settings.half_life_days, 1e-9))
        out = []
        for group, idx in groups:
            plan = self._typical_plan(model, np.asarray(idx), recency)
            name = "My style" if group == "all" else f"My style: {_scene_phrase([group], 2)}"
            plan.provenance["memory"] = {"preset_group": group, "events": len(idx)}
            out.append(StylePreset(name, group, len(idx), plan))
        return out

    def preset_plans(self, name: str = "My style", **kwargs) -> list[tuple[str, RetouchPlan]]:
        """[(preset name, plan)] for "Save my style as a preset": `name`, then `name: outdoor portraits`..."""
        out = []
        for preset in self.style_preset_plans(**kwargs):
            label = name if preset.group == "all" else f"{name}: {_scene_phrase([preset.group], 2)}"
            out.append((label, preset.plan))
        return out

    @staticmethod
    def _typical_plan(model: _Model, idx: np.ndarray, recency: np.ndarray) -> RetouchPlan:
        glob: dict[str, Any] = {}
        regions: dict[str, dict[str, float]] = {}
        for j, (region, name) in enumerate(model.slots):
            if region == GLOBAL and name in ABSOLUTE_WB:
                continue
            seen = idx[model.observed[idx, j]]
            if len(seen) * 2 < len(idx):
                continue  # kept in fewer than half of the group's photos: not a habit
            wts = recency[seen]
            value = float(np.sum(model.finals[seen, j] * wts) / max(np.sum(wts), 1e-12))
            p = (GLOBAL_PARAMS if region == GLOBAL else LOCAL_PARAMS)[name]
            if _negligible(p, value - float(p.default if p.default is not None else value)):
                continue
            value = _round(p, value)
            if region == GLOBAL:
                glob[name] = value
            elif REGION_BY_KEY[region].writable and REGION_BY_KEY[region].kind == AI:
                regions.setdefault(region, {})[name] = value
        edits = [RegionEdit(region=r, values=v) for r, v in regions.items()]
        return RetouchPlan.build(glob, edits)


_DEFAULT_STORES: dict[str, MemoryStores] = {}


def default_stores() -> MemoryStores:
    """The stores under this process's data folder (one `MemoryStores` per folder, shared)."""
    from bridge_server.core.paths import data_dir  # noqa: PLC0415
    root = str(data_dir() / "catalogs")
    if root not in _DEFAULT_STORES:
        for stale in list(_DEFAULT_STORES):  # the data folder moved (tests do this): let the old one go
            _DEFAULT_STORES.pop(stale).close()
        _DEFAULT_STORES[root] = MemoryStores(root)
    return _DEFAULT_STORES[root]


def plan_digest_short(plan: RetouchPlan, vector: Sequence[float]) -> str:
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415
    data = json.dumps([plan.to_dict()["global"], [float(v) for v in vector]], sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:24]


def _round(p: Param, value: float) -> float:
    """Values as Lightroom shows them: whole slider units, EV to 1/100 (local EV to 1/1000)."""
    if p.integer and p.unit != "EV":
        return float(round(value))
    return round(value, 3 if p.scope == "local" else 2) if p.unit == "EV" else round(value, 3)


def _negligible(p: Param, change: float) -> bool:
    step = 0.005 if p.unit == "EV" else (0.5 if p.integer else 0.002 * (p.hi - p.lo))
    return abs(change) < step


def _param(a: Adjustment) -> Param:
    return GLOBAL_PARAMS[a.param] if a.region == GLOBAL else LOCAL_PARAMS[a.param]


def _importance(p: Param, change: float) -> float:
    """A change in "noticeable steps": 0.25 EV, 500 K or 10 slider units count 1."""
    unit = 0.25 if p.unit == "EV" else (500.0 if p.unit == "K" else 10.0)
    return abs(change) / unit


def _describe(a: Adjustment) -> str:
    p = _param(a)
    where = _REGION_WORDS.get(a.region) or REGION_BY_KEY[a.region].label.lower()
    change = a.change
    if p.unit == "EV":
        return f"{where} {change:+.1f} EV" if abs(change) >= 0.1 else f"{where} {change:+.2f} EV"
    if a.param in ("Temperature", "IncrementalTemperature"):
        return f"{where} {'warmer' if change > 0 else 'cooler'}"
    if a.param in ("Tint", "IncrementalTint"):
        return f"{where} {'more magenta' if change > 0 else 'greener'}"
    if a.param in ("Saturation", "Vibrance") and a.region != GLOBAL:
        return f"{where} {'more saturated' if change > 0 else 'less saturated'}"
    return f"{where} {p.label.lower()} {change:+.0f}"


def _scene_phrase(tags: list[str], count: int) -> str:
    """("outdoor", "portrait") -> "outdoor portraits"; ("indoor",) -> "indoor photos"."""
    tags = [t.replace("_", " ") for t in tags]
    nouns = [t for t in tags if t.replace(" ", "_") in _NOUN_TAGS]
    adjectives = [t for t in tags if t not in nouns]
    noun = _NOUN_TAGS[nouns[0].replace(" ", "_")] if nouns else "photos"
    if count == 1:
        noun = noun[:-1] if noun.endswith("s") else noun
    words = adjectives + [t for t in nouns[1:]] + [noun]
    return " ".join(words) if tags else ("similar photo" if count == 1 else "similar photos")
