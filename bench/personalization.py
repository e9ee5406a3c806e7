"""Personalisation benchmark: how quickly does the style memory learn a photographer's own style?

Simulated photographers, each with a hidden style that depends on region and scene (brighter faces indoors,
cooler skies, darker busy backgrounds, warmer skin in warm light...), "edit" real photos: the shared photos,
scikit-image and scikit-learn samples, each in several seeded global variations (exposure, white balance,
contrast, crop, mirror) so that there are enough distinct photos and scenes. A photographer's final plan is
our predictor's proposal + their hidden style for that photo + a little noise.

After N = 1, 5, 10, 20, 50 feedback events the script prints, on held-out photos (whole base photos held
out, never a variation of a training photo), the mean absolute error in slider units (1/200 of a slider's
travel: 1 EV of global exposure = 20 units, 1 EV of local exposure = 25) and the mean CIELAB ΔE76 between
the rendered plan and the photographer's rendered result, for: no memory, a global average of past edits
(what LrGeniusAI does: global settings only), an average of all past offsets (globals and regions), and our
memory. Uses the real vision `analyse` + scene descriptor, the real predictor and the real renderer.

    .venv/bin/python bench/personalization.py [--variants 6] [--folds 3] [--edge 384] [--quick]

Prints figures only; no asserts.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if (ROOT / ".models").is_dir():  # the models the set-up step provisioned (as the tests use them)
    os.environ.setdefault("AIRETOUCH_MODELS_DIR", str(ROOT / ".models"))

from bridge_server.core.params import GLOBAL_PARAMS, LOCAL_PARAMS  # noqa: E402
from bridge_server.core.plan import RegionEdit, RetouchPlan  # noqa: E402
from catalog.memory import GLOBAL, MemorySettings, StyleMemory, plan_slots  # noqa: E402
from catalog.store import FeedbackEvent  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
NS = (1, 5, 10, 20, 50)
METHODS = ("none", "global_avg", "avg_all", "memory")
LABELS = {"none": "no memory", "global_avg": "global average (LrGeniusAI-like, globals only)",
          "avg_all": "average of all past offsets", "memory": "our memory"}


# -- the components under test --------------------------------------------------------------------------

def components() -> tuple[dict, list[str]]:
    """The real analyse / predict / render, and a precise list of what is missing."""
    found, missing = {}, []
    try:
        from bridge_server.vision.regions import analyse
        found["analyse"] = analyse
    except ImportError as exc:
        missing.append(f"bridge_server.vision.regions.analyse (ImportError: {exc})")
    try:
        from bridge_server.retouch.predictor import predict
        found["predict"] = predict
    except ImportError as exc:
        missing.append(f"bridge_server.retouch.predictor.predict (ImportError: {exc})")
    try:
        from bridge_server.develop import render
        found["render"] = render
    except ImportError as exc:
        missing.append(f"bridge_server.develop.render (ImportError: {exc})")
    try:
        from bridge_server.imaging.color import delta_e76, rgb_linear_to_lab, srgb_to_linear
        from bridge_server.imaging.decode import DecodedImage, decode
        found.update(delta_e76=delta_e76, lab=rgb_linear_to_lab, srgb_to_linear=srgb_to_linear,
                     DecodedImage=DecodedImage, decode=decode)
    except ImportError as exc:
        missing.append(f"bridge_server.imaging (decode, colour conversions) (ImportError: {exc})")
    return found, missing


# -- photos ---------------------------------------------------------------------------------------------

def base_photos(comp: dict, edge: int) -> list[tuple[str, np.ndarray]]:
    """Real photos as linear-light float32 RGB, long edge `edge`: shared photos + package samples."""
    import cv2
    out = []
    for path in sorted((SHARED / "photos").glob("*.*")):
        pixels = comp["decode"](path, "analysis", max_edge=edge).pixels
        out.append((path.stem, np.asarray(pixels, np.float32)))
    import skimage.data as skd
    samples = {"astronaut": skd.astronaut(), "chelsea": skd.chelsea(), "coffee": skd.coffee(),
               "rocket": skd.rocket(), "motorcycle": skd.stereo_motorcycle()[0],
               "camera": np.repeat(skd.camera()[..., None], 3, axis=2)}
    from sklearn.datasets import load_sample_images
    for name, img in zip(("china", "flower"), load_sample_images().images):
        samples[name] = img
    for name, img in samples.items():
        srgb = np.asarray(img, np.float32) / 255.0
        h, w = srgb.shape[:2]
        scale = min(1.0, edge / max(h, w))
        if scale < 1:
            srgb = cv2.resize(srgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        out.append((name, np.asarray(comp["srgb_to_linear"](srgb), np.float32)))
    return out


def variation(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded global variation: exposure, white balance, contrast, crop, mirror (linear light)."""
    img = pixels * 2.0 ** rng.uniform(-0.8, 0.8)
    img = img * np.array([rng.uniform(0.82, 1.18), 1.0, rng.uniform(0.82, 1.18)], np.float32)
    gamma = rng.uniform(0.85, 1.18)
    img = 0.18 * (np.clip(img, 0, None) / 0.18) ** gamma
    h, w = img.shape[:2]
    keep = rng.uniform(0.75, 1.0)
    ch, cw = max(32, int(h * keep)), max(32, int(w * keep))
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    img = img[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        img = img[:, ::-1]
    return np.ascontiguousarray(np.clip(img, 0, 1), dtype=np.float32)


@dataclass
class Photo:
    name: str
    base: str
    pixels: np.ndarray
    analysis: object
    proposal: RetouchPlan
    vector: list[float]
    tags: list[str]
    present: set[str]
    features: dict = field(default_factory=dict)


def analysed(comp: dict, name: str, base: str, pixels: np.ndarray) -> Photo:
    image = comp["DecodedImage"](pixels=pixels, path=name, format="png", is_raw=False,
                                 source_size=(pixels.shape[1], pixels.shape[0]), bit_depth=8)
    analysis = comp["analyse"](image)
    proposal = comp["predict"](analysis, is_raw=False)
    masks = {k: np.asarray(v, np.float32) for k, v in analysis.masks.items()}
    present = {k for k, m in masks.items() if float(m.mean()) > 0.005}
    scene = analysis.scene
    photo = Photo(name, base, np.asarray(analysis.working, np.float32), analysis, proposal,
                  [float(v) for v in scene.vector], [str(t) for t in scene.tags], present)
    photo.features = scene_features(comp, photo, masks)
    return photo


def scene_features(comp: dict, photo: Photo, masks: dict) -> dict:
    """What a photographer sees in a photo: indoor/outdoor, warm light, how busy the background is."""
    lab = np.asarray(comp["lab"](np.clip(photo.pixels, 0, 1)), np.float32)
    tags = {t.strip().lower().replace(" ", "_") for t in photo.tags}
    sky = float(masks["sky"].mean()) if "sky" in masks else 0.0
    indoor = ("indoor" in tags) if ({"indoor", "outdoor"} & tags) else sky < 0.02
    warm = bool({"golden_hour", "warm_light", "sunset"} & tags) or float(np.median(lab[..., 2])) > 18
    gy, gx = np.gradient(lab[..., 0])
    energy = np.hypot(gx, gy)
    bg = masks.get("background")
    busy = float((energy * bg).sum() / max(bg.sum(), 1.0)) if bg is not None and bg.sum() > 16 else float(energy.mean())
    return {"indoor": indoor, "warm": warm, "busy": float(np.clip(busy / 6.0, 0.0, 1.0)), "sky": sky}


# -- photographers --------------------------------------------------------------------------------------

def style_bright_warm(f: dict) -> dict:
    return {("face_skin", "Exposure2012"): 0.35 if f["indoor"] else 0.10,
            ("face_skin", "Temperature"): 12.0 if f["warm"] else 4.0,
            ("sky", "Temperature"): -15.0, ("sky", "Highlights2012"): -20.0,
            ("background", "Exposure2012"): -0.30 * f["busy"] - 0.05,
            (GLOBAL, "Vibrance"): 10.0}


def style_moody(f: dict) -> dict:
    return {(GLOBAL, "Exposure2012"): -0.25 if f["indoor"] else -0.10, (GLOBAL, "Contrast2012"): 18.0,
            ("background", "Exposure2012"): -0.45 * f["busy"] - 0.10,
            ("face_skin", "Saturation"): -12.0 if f["indoor"] else -4.0,
            ("sky", "Saturation"): 15.0, ("sky", "Exposure2012"): -0.20}


def style_airy(f: dict) -> dict:
    return {(GLOBAL, "Exposure2012"): 0.10 if f["indoor"] else 0.30, (GLOBAL, "Highlights2012"): -25.0,
            (GLOBAL, "Shadows2012"): 20.0 if f["indoor"] else 10.0,
            ("face_skin", "Temperature"): 8.0 if f["warm"] else 0.0, ("face_skin", "Exposure2012"): 0.15,
            ("sky", "Temperature"): -10.0, ("background", "Clarity2012"): -15.0 * f["busy"]}


def style_contextual(f: dict) -> dict:
    """Treats scene kinds differently, sometimes in opposite directions (an event photographer)."""
    if f["indoor"]:
        return {("face_skin", "Exposure2012"): -0.20, ("background", "Exposure2012"): 0.30,
                (GLOBAL, "Vibrance"): -10.0, (GLOBAL, "Clarity2012"): -10.0}
    return {("face_skin", "Exposure2012"): 0.30, ("sky", "Exposure2012"): -0.30, (GLOBAL, "Vibrance"): 15.0,
            (GLOBAL, "Clarity2012"): 12.0, ("background", "Exposure2012"): -0.15 * f["busy"]}


PHOTOGRAPHERS = {"bright_warm": style_bright_warm, "moody": style_moody, "airy": style_airy,
                 "contextual": style_contextual}


def style_for(photographer: str, photo: Photo) -> dict:
    """The hidden offsets for this photo: only regions the photo has."""
    out = {}
    for (region, name), value in PHOTOGRAPHERS[photographer](photo.features).items():
        if region == GLOBAL or region in photo.present:
            out[(region, name)] = value
    return out


def apply_offsets(plan: RetouchPlan, offsets: dict) -> RetouchPlan:
    """plan + offsets (local offsets on value x amount; a region the plan lacks gets a new edit)."""
    out = plan.copy()
    for (region, name), delta in offsets.items():
        if region == GLOBAL:
            p = GLOBAL_PARAMS[name]
            out.global_[name] = p.clamp(float(out.global_.get(name, p.default)) + delta)
            continue
        p = LOCAL_PARAMS[name]
        edits = [e for e in out.regions if e.region == region and e.active and e.amount > 0.05]
        if not edits:
            edit = RegionEdit(region=region, values={})
            out.regions.append(edit)
            edits = [edit]
        for edit in edits:
            edit.values[name] = p.clamp(float(edit.values.get(name, p.default)) + delta / edit.amount)
    return out.validate()


NOISE_EV, NOISE_SLIDER = 0.05, 3.0  # how far a photographer strays from their own habit, per edit (1 sigma)


def final_for(photographer: str, photo: Photo, rng: np.random.Generator, noise: float = 1.0,
              ) -> tuple[RetouchPlan, dict]:
    style = style_for(photographer, photo)
    noisy = {}
    for (region, name), value in style.items():
        p = (GLOBAL_PARAMS if region == GLOBAL else LOCAL_PARAMS)[name]
        sigma = (NOISE_EV if p.unit == "EV" else NOISE_SLIDER) * noise
        noisy[(region, name)] = value + rng.normal(0, sigma)
    return apply_offsets(photo.proposal, noisy), style


# -- methods --------------------------------------------------------------------------------------------

def average_offsets(events: list[FeedbackEvent], globals_only: bool) -> dict:
    sums: dict = {}
    for e in events:
        p, _ = plan_slots(e.proposed)
        f, _ = plan_slots(e.final)
        for slot in set(p) | set(f):
            if globals_only and slot[0] != GLOBAL:
                continue
            default = None if slot[0] == GLOBAL else LOCAL_PARAMS[slot[1]].default
            a, b = p.get(slot, default), f.get(slot, default)
            if a is None or b is None:
                continue
            sums.setdefault(slot, []).append(b - a)
    return {slot: float(np.mean(v)) for slot, v in sums.items()}


def method_plan(method: str, photo: Photo, events: list[FeedbackEvent], cache: dict,
                settings: MemorySettings) -> RetouchPlan:
    if method == "none" or not events:
        return photo.proposal
    if method in ("global_avg", "avg_all"):
        key = (method, len(events))
        if key not in cache:
            cache[key] = average_offsets(events, globals_only=method == "global_avg")
        offsets = {s: v for s, v in cache[key].items() if s[0] == GLOBAL or s[0] in photo.present}
        return apply_offsets(photo.proposal, offsets)
    key = ("memory", len(events))
    if key not in cache:
        cache[key] = StyleMemory(events=events, settings=settings)
    return cache[key].adjust(photo.proposal, photo.vector, photo.tags, present_regions=photo.present).plan


# -- measures -------------------------------------------------------------------------------------------

def slider_units(p, delta: float) -> float:
    return abs(delta) * 200.0 / (p.hi - p.lo)


def plan_error(plan: RetouchPlan, final: RetouchPlan, proposal: RetouchPlan, style: dict) -> float:
    """Mean |plan - final| in slider units over the slots the style touches and those the method changed."""
    got, _ = plan_slots(plan)
    want, _ = plan_slots(final)
    base, _ = plan_slots(proposal)
    slots = set(style) | {s for s in set(got) | set(base) if abs(got.get(s, 0.0) - base.get(s, 0.0)) > 1e-9}
    errors = []
    for slot in slots:
        region, name = slot
        p = (GLOBAL_PARAMS if region == GLOBAL else LOCAL_PARAMS)[name]
        default = p.default if p.default is not None else 0.0
        errors.append(slider_units(p, got.get(slot, default) - want.get(slot, default)))
    return float(np.mean(errors)) if errors else 0.0


def rendered_lab(comp: dict, photo: Photo, plan: RetouchPlan) -> np.ndarray:
    out = comp["render"](photo.pixels, plan, photo.analysis.masks)
    out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
    return np.asarray(comp["lab"](np.clip(out, 0, 1)), np.float32)


def delta_e(comp: dict, a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.asarray(comp["delta_e76"](a, b))))


def locality(photos: list[Photo], settings: MemorySettings) -> tuple[int, float, int, float] | None:
    """How far a habit learned on one kind of scene travels: +0.4 EV kept on 20 indoor portraits, then the
    share of it applied to other indoor portraits and to outdoor landscapes."""
    kind = lambda p: {t.strip().lower().replace(" ", "_") for t in p.tags}  # noqa: E731
    portraits = [p for p in photos if {"indoor", "portrait"} <= kind(p)]
    landscapes = [p for p in photos if {"outdoor", "landscape"} <= kind(p)]
    if len(portraits) < 22 or not landscapes:
        return None
    events = []
    for i, p in enumerate(portraits[:20]):
        final = p.proposal.copy()
        final.global_["Exposure2012"] = float(final.global_.get("Exposure2012", 0.0)) + 0.4
        events.append(FeedbackEvent(photo_key=f"l{i}", proposed=p.proposal, final=final.validate(),
                                    scene_vector=p.vector, scene_tags=p.tags, time=1.7e9))
    memory = StyleMemory(events=events, settings=settings)

    def share(group: list[Photo]) -> float:
        return float(np.mean([(memory.adjust(q.proposal, q.vector, q.tags).plan.global_.get("Exposure2012", 0.0)
                               - q.proposal.global_.get("Exposure2012", 0.0)) / 0.4 for q in group]))
    rest = portraits[20:]
    return len(rest), share(rest), len(landscapes), share(landscapes)


# -- the run --------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", type=int, default=6, help="seeded variations per base photo")
    ap.add_argument("--folds", type=int, default=3, help="folds over base photos (held-out bases)")
    ap.add_argument("--edge", type=int, default=384, help="long edge of the working images")
    ap.add_argument("--held-out", type=int, default=18, help="held-out photos rendered per fold")
    ap.add_argument("--quick", action="store_true", help="2 folds, 4 variants, no ΔE")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noise", type=float, default=1.0,
                    help=f"scale of the photographers' inconsistency (1 = {NOISE_EV} EV / {NOISE_SLIDER:g} units)")
    ap.add_argument("--memory", default="", help="memory settings to try, e.g. bandwidth=0.2,shrink=0.5")
    args = ap.parse_args(argv)
    if args.quick:
        args.folds, args.variants = 2, 4

    comp, missing = components()
    if missing:
        print("Cannot run the personalisation benchmark; missing components:")
        for m in missing:
            print(f"  - {m}")
        print("The benchmark is written against these names: vision.regions.analyse(DecodedImage) -> Analysis "
              "with .working, .masks, .scene (.vector, .tags); retouch.predictor.predict(analysis, is_raw) -> "
              "RetouchPlan; develop.render(pixels_linear, plan, masks) -> pixels.")
        return 2

    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    bases = base_photos(comp, args.edge)
    photos: list[Photo] = []
    for name, pixels in bases:
        for v in range(args.variants):
            img = pixels if v == 0 else variation(pixels, rng)
            photos.append(analysed(comp, f"{name}#{v}", name, img))
    print(f"{len(bases)} base photos x {args.variants} variations = {len(photos)} photos analysed and "
          f"proposed in {time.time() - t0:.0f} s (working edge {args.edge} px)")
    tags = {}
    for ph in photos:
        for t in ph.tags:
            tags[t] = tags.get(t, 0) + 1
    print("scene tags:", ", ".join(f"{t} {n}" for t, n in sorted(tags.items(), key=lambda x: -x[1])))
    print(f"scene vector length {len(photos[0].vector)}; indoor {sum(p.features['indoor'] for p in photos)}, "
          f"warm {sum(p.features['warm'] for p in photos)}, mean busy {np.mean([p.features['busy'] for p in photos]):.2f}")

    settings = MemorySettings(**{k: float(v) for k, v in (kv.split("=") for kv in args.memory.split(",") if kv)})
    print(f"memory settings: {settings}")
    carried = locality(photos, settings)
    if carried:
        print(f"locality: +0.4 EV kept on 20 indoor portraits is applied at {carried[1]:.0%} to the other "
              f"{carried[0]} indoor portraits and at {carried[3]:.0%} to {carried[2]} outdoor landscapes")
    names = sorted({p.base for p in photos})
    order = rng.permutation(len(names))
    folds = [[names[i] for i in order[k::args.folds]] for k in range(args.folds)]
    mae = {m: {n: [] for n in NS} for m in METHODS}
    de = {m: {n: [] for n in NS} for m in METHODS}
    at10 = {ph: {m: [] for m in METHODS} for ph in PHOTOGRAPHERS}
    for photographer in PHOTOGRAPHERS:
        for k, held_names in enumerate(folds):
            prng = np.random.default_rng([zlib.crc32(photographer.encode()), k, args.seed])
            train = [p for p in photos if p.base not in held_names]
            held = [p for p in photos if p.base in held_names]
            train = [train[i] for i in prng.permutation(len(train))]
            held = [held[i] for i in prng.permutation(len(held))][: args.held_out]
            finals = {id(p): final_for(photographer, p, prng, args.noise) for p in train + held}
            events = [FeedbackEvent(photo_key=p.name, proposed=p.proposal, final=finals[id(p)][0],
                                    scene_vector=p.vector, scene_tags=p.tags, time=1.7e9 + i, source="plugin")
                      for i, p in enumerate(train)]
            target_lab = {} if args.quick else {id(p): rendered_lab(comp, p, finals[id(p)][0]) for p in held}
            for n in NS:
                if n > len(events):
                    continue
                cache: dict = {}
                for p in held:
                    final, style = finals[id(p)]
                    for m in METHODS:
                        plan = method_plan(m, p, events[:n], cache, settings)
                        mae[m][n].append(plan_error(plan, final, p.proposal, style))
                        if n == 10:
                            at10[photographer][m].append(mae[m][n][-1])
                        if not args.quick:
                            de[m][n].append(delta_e(comp, rendered_lab(comp, p, plan), target_lab[id(p)]))
        print(f"  {photographer}: done ({time.time() - t0:.0f} s)")

    print()
    print(f"Held-out photos (base photos never seen in training), mean over {len(PHOTOGRAPHERS)} photographers x "
          f"{args.folds} folds:")
    header = "  N  | " + " | ".join(f"{m:>10}" for m in METHODS)
    print("MAE, slider units (1/200 of a slider's travel)")
    print(header)
    for n in NS:
        if mae["none"][n]:
            print(f" {n:3d} | " + " | ".join(f"{np.mean(mae[m][n]):10.2f}" for m in METHODS))
    if not args.quick:
        print("ΔE76 between the rendered plan and the photographer's rendered result")
        print(header)
        for n in NS:
            if de["none"][n]:
                print(f" {n:3d} | " + " | ".join(f"{np.mean(de[m][n]):10.2f}" for m in METHODS))
    print("methods: " + "; ".join(f"{m} = {LABELS[m]}" for m in METHODS))
    if any(at10[ph]["none"] for ph in at10):
        print("MAE at N=10 per photographer: " + "; ".join(
            f"{ph} " + "/".join(f"{np.mean(v[m]):.2f}" for m in METHODS) for ph, v in at10.items() if v["none"])
            + f" ({'/'.join(METHODS)})")
    print()
    if mae["none"][10]:
        none10, mem10, avg10 = (np.mean(mae[m][10]) for m in ("none", "memory", "global_avg"))
        all10 = np.mean(mae["avg_all"][10])
        print(f"target N=10: memory error {100 * (1 - mem10 / none10):.0f}% lower than no memory (target >= 50%): "
              f"{'met' if mem10 <= 0.5 * none10 else 'NOT met'}")
        print(f"target N=10: memory {mem10:.2f} vs global average {avg10:.2f} (target lower): "
              f"{'met' if mem10 < avg10 else 'NOT met'}; vs average of all offsets {all10:.2f}")
    none1, mem1 = np.mean(mae["none"][1]), np.mean(mae["memory"][1])
    print(f"target N=1: memory {mem1:.2f} vs no memory {none1:.2f} (target no worse): "
          f"{'met' if mem1 <= none1 + 1e-9 else 'NOT met'}")
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
