"""The `Retoucher` facade: the one entry point (plan, emit, learn) shared by the server, the watcher and the CLI.

The five stages are visible here as calls, in order: decode (imaging), analyse (vision), plan (retouch, then
the catalog's memory, then instruction/attributes/clicks), emit (lightroom, develop), learn (catalog).
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .core.errors import NotFoundError, NothingLearnedError, PermissionDeniedError, PlanError
from .core.plan import RetouchPlan
from .imaging.decode import RAW_EXTENSIONS as _RAW
from .imaging.decode import is_raw_path

RAW_EXTENSIONS = frozenset("." + ext for ext in _RAW)


@dataclass
class PhotoRequest:
    """One photo as the plugin, the watcher or the CLI names it."""

    path: Path | None = None
    preview: bytes | None = None  # a rendered JPEG/PNG for formats we cannot read
    photo_id: str | None = None
    settings: dict | None = None  # the photo's current develop settings (applyDevelopSettings keys)
    is_raw: bool | None = None

    @property
    def raw(self) -> bool:
        if self.is_raw is not None:
            return self.is_raw
        return bool(self.path and is_raw_path(self.path))

    @property
    def label(self) -> str:
        return str(self.path) if self.path else (self.photo_id or "uploaded preview")


@dataclass
class PlanRequest:
    """What to do beyond the automatic plan: an explicit plan, --set values, words, clicks, a catalog."""

    base: RetouchPlan | None = None  # an explicit plan replaces the automatic prediction
    sets: dict[str, dict[str, float]] = field(default_factory=dict)  # {"global"|region: {param: value}}
    instruction: str | None = None
    attributes: dict[str, dict[str, float]] | None = None
    clicks: list[dict] | None = None
    strength: float = 1.0
    catalog: dict | None = None  # {"id", "path", "name"} or {"id": "profile:NAME"}


@dataclass
class PlanResult:
    photo: PhotoRequest
    plan: RetouchPlan
    settings: dict
    analysis: Any = None

    def to_dict(self) -> dict:
        return {"photo_id": self.photo.photo_id, "path": str(self.photo.path) if self.photo.path else None,
                "plan": self.plan.to_dict(), "settings": self.settings, "summary": self.plan.summary(),
                "notes": [n.text for n in self.plan.notes]}


def check_readable(path: str | Path) -> Path:
    """An existing regular file the user can read, or a typed error naming it."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise NotFoundError("file not found", path=str(p)) from None
    except PermissionError:
        raise PermissionDeniedError("no permission to read this file", path=str(p)) from None
    import stat as _stat
    if not _stat.S_ISREG(st.st_mode):
        raise NotFoundError("not a regular file", path=str(p))
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise PermissionDeniedError("no permission to read this file", path=str(p)) from None
    return p


ANALYSIS_CACHE = 4  # analyses of files kept (about 10 MB each: the 512-px image and its masks)


class Retoucher:
    """Plan, emit and learn for one process. Thread-safe: the server calls it from a worker pool."""

    def __init__(self, *, use_models: bool = True, max_pixels: int | None = None):
        self.use_models = use_models
        self.max_pixels = max_pixels  # image size limit (pixels) for decoding; None: the imaging default
        self._lock = threading.Lock()
        self._closed = False
        self._analyses: OrderedDict = OrderedDict()

    # -- stage 1+2: decode and analyse ------------------------------------------------------------------------
    def decode(self, photo: PhotoRequest, purpose: str = "analysis"):
        from .imaging.decode import decode, decode_bytes
        limit = {"max_pixels": self.max_pixels} if self.max_pixels else {}
        if photo.preview is not None:
            return decode_bytes(photo.preview, name=photo.label, **limit)
        if photo.path is None:
            raise PlanError("a photo needs a path or a preview", field="photo")
        return decode(check_readable(photo.path), purpose=purpose, **limit)

    def _check_photo(self, photo: PhotoRequest) -> None:
        """Even a plan that needs no analysis is only written for a photo that decodes (small and quick)."""
        from .imaging.decode import decode, decode_bytes
        limit = {"max_pixels": self.max_pixels} if self.max_pixels else {}
        if photo.preview is not None:
            decode_bytes(photo.preview, name=photo.label, max_edge=256, **limit)
        elif photo.path is not None:
            decode(check_readable(photo.path), "analysis", max_edge=256, **limit)
        else:
            raise PlanError("a photo needs a path or a preview", field="photo")

    def analyse(self, photo: PhotoRequest):
        """The photo's analysis. The last few analyses of files are kept, keyed by path, size and modification
        time, so the plugin's faces-then-plan (and variants, render, match on the same file) analyse once; a
        changed file is analysed again. Callers treat the analysis as read-only."""
        key = None
        if photo.preview is None and photo.path is not None:
            path = check_readable(photo.path)
            st = path.stat()
            key = (str(path.resolve()), st.st_size, st.st_mtime_ns, self.use_models, self.max_pixels)
            with self._lock:
                if key in self._analyses:
                    self._analyses.move_to_end(key)
                    return self._analyses[key]
        image = self.decode(photo, "analysis")  # an unreadable file is reported as such, whatever comes next
        from .vision.regions import analyse
        result = analyse(image, use_models=self.use_models)
        if key is not None:
            with self._lock:
                self._analyses[key] = result
                while len(self._analyses) > ANALYSIS_CACHE:
                    self._analyses.popitem(last=False)
        return result

    # -- stage 3: plan ---------------------------------------------------------------------------------------
    def plan(self, photo: PhotoRequest, request: PlanRequest | None = None) -> PlanResult:
        request = request or PlanRequest()
        analysis = None
        if request.base is not None:
            self._check_photo(photo)
            plan = request.base.copy()
        elif request.sets and not request.instruction:
            self._check_photo(photo)  # nothing to analyse, but it must still be a photo we can read
            plan = RetouchPlan()
        else:
            from .retouch.predictor import predict
            analysis = self.analyse(photo)
            plan = predict(analysis, is_raw=photo.raw)
        if request.catalog:
            plan = self._apply_memory(plan, request.catalog, analysis, photo.raw)
        if request.sets:
            plan = apply_sets(plan, request.sets)
        if request.instruction:
            from .retouch.instructions import apply_interpretation, interpret
            present = set(analysis.masks) if analysis is not None else None
            interp = interpret(request.instruction, regions_present=present)
            before_instruction = plan
            plan = apply_interpretation(plan, interp, is_raw=photo.raw)
            if analysis is not None:  # check and correct against a render (PerTouch's rethink loop)
                from .retouch.rethink import rethink
                plan = rethink(plan, analysis, interp, is_raw=photo.raw, base=before_instruction)
        if request.clicks:  # positive / negative clicks: emphasise the chosen people, hold back the avoided
            from .retouch.selection import apply_clicks
            if analysis is None:
                analysis = self.analyse(photo)
            plan = apply_clicks(plan, analysis, request.clicks)
        if request.attributes:
            from .retouch.attributes import apply_attributes
            plan = apply_attributes(plan, request.attributes, is_raw=photo.raw)
        if request.strength != 1.0:
            plan = plan.scaled(request.strength)
        plan.provenance.setdefault("airetouch", __version__)
        plan.validate()
        return PlanResult(photo, plan, self.settings_table(plan, is_raw=photo.raw), analysis)

    def variants(self, photo: PhotoRequest, request: PlanRequest | None = None, n: int = 4) -> list:
        """3-5 distinct candidate retouches (natural, bright & airy, warm, moody, clean & cool) with small
        previews, built on this photo's plan: [retouch.variants.Variant]."""
        from .retouch.variants import variants
        result = self.plan(photo, request or PlanRequest())
        analysis = result.analysis if result.analysis is not None else self.analyse(photo)
        return variants(analysis, result.plan, n=n, is_raw=photo.raw)

    def _apply_memory(self, plan: RetouchPlan, catalog: dict, analysis, is_raw: bool) -> RetouchPlan:
        if analysis is None:
            return plan
        from catalog.memory import StyleMemory  # noqa: PLC0415 - optional stage
        memory = StyleMemory.for_catalog(catalog)
        return memory.adjust(plan, analysis.scene.vector, analysis.scene.tags, present_regions=set(analysis.masks),
                             is_raw=is_raw).plan

    # -- stage 4: emit ---------------------------------------------------------------------------------------
    @staticmethod
    def settings_table(plan: RetouchPlan, *, is_raw: bool) -> dict:
        from .lightroom.sdk import plan_to_develop_settings
        return plan_to_develop_settings(plan, is_raw=is_raw)

    def write_sidecar(self, photo: PhotoRequest, plan: RetouchPlan, out_dir: Path | None = None):
        from .lightroom.sidecar import write_sidecar
        if photo.path is None:
            raise PlanError("a sidecar needs the photo's path", field="photo.path")
        return write_sidecar(check_readable(photo.path), plan, out_dir=out_dir, is_raw=photo.raw)

    def xmp_packet(self, plan: RetouchPlan, *, is_raw: bool) -> str:
        """The plan as a Camera Raw XMP packet (text), as a sidecar would hold it."""
        from .lightroom.writer import plan_to_xmp
        return plan_to_xmp(plan, is_raw=is_raw)

    def read_plan(self, xmp_path: str | Path) -> RetouchPlan:
        """A plan read from a sidecar, a preset or an image's embedded XMP."""
        from .lightroom.reader import read_plan
        return read_plan(check_readable(xmp_path))

    def render(self, photo: PhotoRequest, plan: RetouchPlan, out: Path, *, format: str = "jpeg",
               colorspace: str = "srgb") -> dict:
        """Develop the photo with the plan at full resolution into `out` (8-bit sRGB JPEG or 16-bit TIFF in
        `colorspace`), written atomically, with the source's metadata and our provenance: {out, width, height}."""
        from .develop.renderer import render_tiled
        from .imaging import metadata
        from .imaging.encode import write_jpeg, write_tiff16
        image = self.decode(photo, "render")
        ai_regions = any(m.kind == "ai" for edit in plan.regions for m in edit.mask_components())
        masks = self.analyse(photo).masks if ai_regions else None  # our own masks stand in for Lightroom's
        linear = render_tiled(image, plan, masks)  # HxWx3 linear Rec.709, 0..1
        if format == "jpeg":
            write_jpeg(out, linear)
        else:
            write_tiff16(out, linear, colorspace=colorspace)
        if photo.path is not None and photo.preview is None:
            metadata.copy_metadata(photo.path, out)
        metadata.write_provenance(out, {"Version": __version__, "Source": photo.label,
                                        "Notes": [n.text for n in plan.notes]})
        height, width = linear.shape[:2]
        return {"out": str(out), "width": int(width), "height": int(height)}

    def write_preset(self, plan: RetouchPlan, name: str, group: str = "AI Retouch",
                     directory: Path | None = None) -> Path:
        from .lightroom.preset import default_presets_dir, write_preset
        return write_preset(plan, name, group, directory=directory or default_presets_dir())

    def memory_presets(self, catalog: dict, name: str, group: str = "AI Retouch",
                       directory: Path | None = None) -> list[tuple[str, Path]]:
        """The catalog's learned style as presets (one per scene group): [(preset name, path)]."""
        from catalog.memory import StyleMemory  # noqa: PLC0415
        plans = StyleMemory.for_catalog(catalog).preset_plans(name)
        if not plans:
            raise NothingLearnedError("AI Retouch has not learned this catalog's style yet: use \"Teach AI Retouch "
                                      "from these edits\" on a few edited photos first")
        return [(label, self.write_preset(plan, label, group, directory)) for label, plan in plans]

    def feedback(self, catalog: dict, photo: PhotoRequest, proposed: RetouchPlan | None = None) -> dict:
        """Record what the photographer kept (photo.settings) for this photo's scene: {recorded, events}."""
        from catalog.memory import StyleMemory  # noqa: PLC0415
        if photo.settings is None:
            raise PlanError("feedback needs the settings the photographer kept", field="photo.settings")
        analysis = self.analyse(photo)
        if proposed is None:  # what we would have proposed for this photo: the memory learns the difference
            from .retouch.predictor import predict
            proposed = predict(analysis, is_raw=photo.raw)
        memory = StyleMemory.for_catalog(catalog)
        events = memory.record(analysis.scene.vector, analysis.scene.tags, kept=photo.settings,
                               proposed=proposed, is_raw=photo.raw, photo_id=photo.photo_id,
                               path=str(photo.path) if photo.path else None)
        return {"recorded": True, "events": events}

    def memory_summary(self, catalog: dict) -> dict:
        from catalog.memory import StyleMemory  # noqa: PLC0415
        return StyleMemory.for_catalog(catalog).summary()

    def memory_reset(self, catalog: dict) -> str | None:
        """Forget a catalog's memory; returns the backup of what was forgotten (a JSON file), if any."""
        from catalog.memory import StyleMemory  # noqa: PLC0415
        return StyleMemory.for_catalog(catalog).reset()

    def learn(self, catalog: dict, lrcat: str | Path, progress: ProgressFn | None = None,
              cancel: Callable[[], bool] | None = None) -> dict:
        """Learn the photographer's style from a Lightroom catalog's develop history (the file is only read):
        our own proposal for each edited photo is paired with what was kept. Returns the learn summary."""
        from catalog.learn import learn_catalog_file  # noqa: PLC0415

        def propose(path: Path):
            result = self.plan(PhotoRequest(path=path))
            return result.plan, result.analysis.scene.vector, result.analysis.scene.tags

        _store, summary = learn_catalog_file(check_readable(lrcat), propose, catalog_id=catalog.get("id"),
                                             progress=progress, cancel=cancel)
        return summary.to_dict()

    def faces(self, photo: PhotoRequest, thumb_edge: int = 96) -> list[dict]:
        """The people vision found, for choosing whom to retouch: [{index, box (normalised x0, y0, x1, y1),
        face_box (normalised, or None), thumbnail (base64 JPEG of the face, else the person)}]."""
        import base64
        import io

        from PIL import Image

        from .imaging.encode import to_srgb8
        analysis = self.analyse(photo)
        srgb = Image.fromarray(to_srgb8(analysis.working))
        w, h = srgb.size
        people = []
        for person in analysis.people:
            face = person.get("face_box")
            face_norm = [face[0] / w, face[1] / h, face[2] / w, face[3] / h] if face else None
            x0, y0, x1, y1 = face_norm or person["box"]
            pad_x, pad_y = (x1 - x0) * 0.25, (y1 - y0) * 0.25  # a little context around the face
            crop = srgb.crop((int(max(0, x0 - pad_x) * w), int(max(0, y0 - pad_y) * h),
                              int(min(1, x1 + pad_x) * w) or 1, int(min(1, y1 + pad_y) * h) or 1))
            crop.thumbnail((thumb_edge, thumb_edge))
            buffer = io.BytesIO()
            crop.save(buffer, format="JPEG", quality=85)
            people.append({"index": person["index"], "box": list(person["box"]),
                           "face_box": [round(v, 4) for v in face_norm] if face_norm else None,
                           "thumbnail": base64.b64encode(buffer.getvalue()).decode("ascii")})
        return people

    def match(self, before: PhotoRequest, after: PhotoRequest, targets: list[PhotoRequest], *,
              write_sidecars: bool = True, out_dir: Path | None = None, steps: int = 150) -> dict:
        """"Match a look": fit a plan to the exemplar pair (before, after) once, then apply it to each target
        through the target's own regions (sidecars written unless `write_sidecars` is False). A bad target
        gives a result with ok False and its error; a bad exemplar raises (an "after" that does not line up
        with the "before": ExemplarError, see check_exemplar_frames). Returns {plan, fit, results}; each good
        result carries the target's plan and its applyDevelopSettings table (`settings`)."""
        from .core.errors import RetouchError
        from .retouch.exemplar import fit_plan, transfer
        analysis = self.analyse(before)
        after_image = self.decode(after, "analysis")
        check_exemplar_frames(analysis.working.shape, after_image.pixels.shape)
        fit = fit_plan(analysis.working, after_image, analysis.masks, steps=steps)
        exemplar = {"before": before.label, "after": after.label, **fit.to_dict()}
        results = []
        for index, target in enumerate(targets):
            entry: dict[str, Any] = {"index": index, "path": str(target.path) if target.path else None,
                                     "photo_id": target.photo_id}
            try:
                plan = transfer(fit.plan, self.analyse(target), exemplar=exemplar, is_raw=target.raw)
                plan.provenance.setdefault("airetouch", __version__)
                entry.update(ok=True, plan=plan.to_dict(), settings=self.settings_table(plan, is_raw=target.raw),
                             summary=plan.summary(), notes=[n.text for n in plan.notes])
                if write_sidecars:
                    written = self.write_sidecar(target, plan, out_dir=out_dir)
                    backup = getattr(written, "backup", None)
                    entry.update(sidecar=str(getattr(written, "path", written)),
                                 backup=str(backup) if backup else None)
            except RetouchError as exc:
                entry.update(ok=False, error=exc.to_dict())
            results.append(entry)
        return {"plan": fit.plan.to_dict(), "fit": fit.to_dict(), "results": results}

    def health(self) -> dict:
        """Which vision models are installed and which fallbacks are in use; never raises."""
        try:
            from .vision import models
            rows = [{"name": m["name"], "present": bool(m["present"]), "verified": bool(m["verified"])}
                    for m in models.status()]
        except Exception as exc:  # noqa: BLE001 - health must answer even when the vision layer is broken
            return {"models": [], "fallbacks": [f"vision models unavailable ({type(exc).__name__}: {exc})"]}
        fallbacks = [] if self.use_models else ["models disabled (--no-models): fallback detectors only"]
        fallbacks += [f"{m['name']} {'unverified' if m['present'] else 'missing'}: using its fallback"
                      for m in rows if self.use_models and not (m["present"] and m["verified"])]
        return {"models": rows, "fallbacks": fallbacks}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            from .imaging import metadata
            metadata.close()
        except ImportError:
            pass


EXEMPLAR_ASPECT_TOLERANCE = 0.01  # relative: beyond this (plus a pixel of rounding) the frames differ


def check_exemplar_frames(before_shape: tuple[int, ...], after_shape: tuple[int, ...]) -> None:
    """An exemplar's "after" must show the same frame as its "before" at any size (it is resized to it): the
    aspect ratios agree within 1 % (plus one pixel of rounding of the smaller image). Otherwise the edited
    version was cropped or rotated (or is another picture) and cannot be compared pixel by pixel with the
    original: ExemplarError (422 exemplar_mismatch)."""
    from .retouch.exemplar import ExemplarError
    (bh, bw), (ah, aw) = before_shape[:2], after_shape[:2]
    if min(bh, bw, ah, aw) <= 0:
        raise ExemplarError("the exemplar's before or after image is empty", field="after")
    rounding = 1.0 / min(bh, bw, ah, aw)
    off = abs(math.log((bw / bh) / (aw / ah)))
    if off <= EXEMPLAR_ASPECT_TOLERANCE + rounding:
        return
    turned = abs(math.log((bw / bh) * (aw / ah))) <= EXEMPLAR_ASPECT_TOLERANCE + rounding
    what = "rotates" if turned else "crops or rotates"
    raise ExemplarError(
        f"the exemplar's edited version ({aw}x{ah}) does not line up with its original ({bw}x{bh}): the frame's "
        f"shape differs by {100 * (math.exp(off) - 1):.0f} %, so the edit {what} the photo and the two cannot be "
        "compared pixel by pixel. Use an exemplar without a crop or rotation (reset them, or make a virtual copy "
        "without them) and try again", field="after")


def apply_sets(plan: RetouchPlan, sets: dict[str, dict[str, float]]) -> RetouchPlan:
    """Set explicit values: {"global": {...}, "sky": {"Highlights2012": -30}} (one edit per region, ours)."""
    from .core.plan import RegionEdit
    from .core.regions import region as lookup_region
    out = plan.copy()
    for target, values in sets.items():
        if target == "global":
            out.global_.update(values)
            continue
        try:
            key = lookup_region(target).key
        except KeyError:
            raise PlanError(f"unknown region {target!r}", field=f"set.{target}") from None
        edits = [e for e in out.regions if e.region == key and e.origin == "airetouch"]
        if edits:
            edits[0].values.update(values)
        else:
            out.regions.append(RegionEdit(region=key, values=dict(values)))
    out.add_note("user", "set by hand: " + "; ".join(
        f"{t} " + ", ".join(f"{k}={v:+g}" for k, v in vals.items()) for t, vals in sets.items()))
    return out.validate()


def parse_set(expression: str) -> tuple[str, str, float]:
    """Parse `Exposure2012=+0.4` or `sky:Highlights=-30` into (target, name, value)."""
    if "=" not in expression:
        raise PlanError(f"expected NAME=VALUE or REGION:NAME=VALUE, got {expression!r}", field="set")
    left, value = expression.split("=", 1)
    target, name = left.split(":", 1) if ":" in left else ("global", left)
    try:
        number = float(value.strip())
    except ValueError:
        if target == "global":
            return target, name.strip(), value.strip()  # enum values such as WhiteBalance=Auto
        raise PlanError(f"{left} needs a number, got {value!r}", field="set") from None
    return target.strip(), name.strip(), number


ProgressFn = Callable[[int, int, str], None]
