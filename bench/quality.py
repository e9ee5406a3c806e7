"""Quality benchmark: can the automatic plan undo known faults?

For each photo, several seeded degradations with known parameters (global exposure, white balance and contrast
faults; regional faults: an under-exposed subject against a bright background, a blown sky, a colour cast on
skin) are rendered by our renderer. The predictor sees only the degraded image; its plan is rendered and compared
with the original. Printed: a per-photo table and the means of ΔE76, human-centred ΔE (people weight 1,
background 0.5), PSNR and PSNR-HC for no correction, an auto-levels + grey-world baseline, our plan without local
edits, and our full plan.

    python bench/quality.py [--photos DIR] [--per-photo N] [--edge PX] [--seed S] [--severity X]

Also printed: the ΔE76 our plan makes on each undegraded original (a well-made photo should be left alone).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge_server.core.plan import RegionEdit, RetouchPlan  # noqa: E402
from bridge_server.develop import render  # noqa: E402
from bridge_server.imaging.color import delta_e76, linear_to_srgb, rgb_linear_to_lab, srgb_to_linear  # noqa: E402
from bridge_server.imaging.decode import decode  # noqa: E402
from bridge_server.retouch.predictor import predict  # noqa: E402
from bridge_server.vision.regions import analyse  # noqa: E402

METHODS = ("none", "autolevels", "global", "full")


@dataclass
class Case:
    photo: str
    fault: str
    scores: dict[str, dict[str, float]]


def default_photos() -> list[tuple[str, np.ndarray]]:
    """The shared photos plus scikit-image and scikit-learn sample photos, as linear float images."""
    photos: list[tuple[str, np.ndarray]] = []
    shared = ROOT.parent / "shared" / "data" / "photos"
    for path in sorted(shared.glob("*.*")):
        photos.append((path.stem, decode(path, "analysis").pixels))
    from skimage import data as skdata
    for name in ("astronaut", "coffee", "chelsea", "rocket"):  # the photographs among skimage's samples
        photos.append((f"skimage_{name}", srgb_to_linear(getattr(skdata, name)().astype(np.float32) / 255.0)))
    from sklearn.datasets import load_sample_images
    for name, img in zip(("sklearn_china", "sklearn_flower"), load_sample_images().images):
        photos.append((name, srgb_to_linear(img.astype(np.float32) / 255.0)))
    return photos


def folder_photos(folder: Path) -> list[tuple[str, np.ndarray]]:
    return [(p.stem, decode(p, "analysis").pixels) for p in sorted(folder.iterdir()) if p.is_file()]


def resize_long_edge(img: np.ndarray, edge: int) -> np.ndarray:
    import cv2
    h, w = img.shape[:2]
    scale = edge / max(h, w)
    if scale >= 1:
        return np.ascontiguousarray(img, dtype=np.float32)
    return cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA).astype(np.float32)


def faults(rng: random.Random, analysis, severity: float = 1.0) -> list[tuple[str, RetouchPlan]]:
    """Seeded degradations with known parameters; regional ones only where the region exists. `severity` scales
    every magnitude (1: mild faults, within the spread of well-made photos; 2: clear faults)."""
    def sign() -> float:
        return rng.choice((-1, 1)) * severity

    has_people = float(analysis.masks.get("subject", np.zeros(1)).mean()) > 0.03
    has_sky = float(analysis.masks.get("sky", np.zeros(1)).mean()) > 0.05
    has_skin = float(analysis.masks.get("face_skin", np.zeros(1)).mean()) > 0.002
    out: list[tuple[str, RetouchPlan]] = []
    ev = sign() * rng.uniform(0.6, 1.2)
    out.append((f"exposure {ev:+.1f} EV", RetouchPlan.build({"Exposure2012": ev})))
    t, tint = sign() * rng.uniform(20, 40), sign() * rng.uniform(8, 20)
    out.append((f"white balance {t:+.0f}/{tint:+.0f}",
                RetouchPlan.build({"IncrementalTemperature": t, "IncrementalTint": tint})))
    c, ev2 = max(-100.0, rng.uniform(-60, -30) * severity), sign() * rng.uniform(0.3, 0.6)
    out.append((f"flat {c:+.0f}, {ev2:+.1f} EV", RetouchPlan.build({"Contrast2012": c, "Exposure2012": ev2})))
    if has_people:
        s = -rng.uniform(0.8, 1.3) * severity
        out.append((f"subject {s:+.1f} EV, bright background", RetouchPlan.build(
            {"Exposure2012": 0.25}, [RegionEdit("subject", {"Exposure2012": s})])))
    if has_sky:
        s = rng.uniform(0.8, 1.4) * severity
        out.append((f"blown sky {s:+.1f} EV", RetouchPlan.build(
            {}, [RegionEdit("sky", {"Exposure2012": s, "Highlights2012": 40})])))
    if has_skin:
        t = sign() * rng.uniform(25, 45)
        out.append((f"skin cast {t:+.0f}", RetouchPlan.build(
            {}, [RegionEdit("face_skin", {"Temperature": t, "Tint": rng.uniform(-20, 20)}),
                 RegionEdit("body_skin", {"Temperature": t})])))
    return out


def autolevels_greyworld(linear: np.ndarray) -> np.ndarray:
    """The classic baseline: per-channel 0.5/99.5 % levels stretch, then grey-world gains, in sRGB."""
    srgb = np.clip(linear_to_srgb(np.clip(linear, 0, 1)), 0, 1)
    lo = np.percentile(srgb, 0.5, axis=(0, 1))
    hi = np.percentile(srgb, 99.5, axis=(0, 1))
    stretched = np.clip((srgb - lo) / np.maximum(hi - lo, 1e-3), 0, 1)
    lin = srgb_to_linear(stretched)
    means = lin.reshape(-1, 3).mean(axis=0)
    gains = means.mean() / np.maximum(means, 1e-4)
    return np.clip(lin * gains, 0, 1).astype(np.float32)


def scores(result: np.ndarray, reference: np.ndarray, people: np.ndarray) -> dict[str, float]:
    """ΔE76, ΔE-HC, PSNR and PSNR-HC (sRGB, 0..1) with people weighted 1 and the rest 0.5."""
    res = np.clip(result, 0, 1)
    ref = np.clip(reference, 0, 1)
    de = delta_e76(rgb_linear_to_lab(res), rgb_linear_to_lab(ref))
    w = 0.5 + 0.5 * np.clip(people, 0, 1)
    se = ((linear_to_srgb(res) - linear_to_srgb(ref)) ** 2).mean(axis=-1)
    psnr = 10 * np.log10(1.0 / max(float(se.mean()), 1e-10))
    psnr_hc = 10 * np.log10(1.0 / max(float((se * w).sum() / w.sum()), 1e-10))
    return {"de": float(de.mean()), "de_hc": float((de * w).sum() / w.sum()), "psnr": psnr, "psnr_hc": psnr_hc}


def run(photos, per_photo: int, seed: int, edge: int, severity: float = 1.0) -> tuple[list[Case], list[float]]:
    """The cases, and the ΔE76 our plan makes on each undegraded original (a good photo should be left alone)."""
    cases: list[Case] = []
    identity: list[float] = []
    for name, pixels in photos:
        original = resize_long_edge(pixels, edge)
        truth = analyse(original)
        import cv2
        people = truth.masks.get("subject", np.zeros(original.shape[:2], np.float32))
        people = cv2.resize(people, (original.shape[1], original.shape[0]), interpolation=cv2.INTER_LINEAR)
        rng = random.Random(f"{seed}:{name}")
        identity.append(scores(np.asarray(render(original, predict(truth, is_raw=False), truth.masks)), original,
                               people)["de"])
        candidates = faults(rng, truth, severity)
        rng.shuffle(candidates)
        for fault, degradation in candidates[:per_photo]:
            degraded = np.clip(render(original, degradation, truth.masks), 0, None).astype(np.float32)
            seen = analyse(degraded)
            plan = predict(seen, is_raw=False)
            global_only = plan.copy()
            global_only.regions = []
            outputs = {
                "none": degraded,
                "autolevels": autolevels_greyworld(degraded),
                "global": render(degraded, global_only, seen.masks),
                "full": render(degraded, plan, seen.masks),
            }
            cases.append(Case(name, fault, {m: scores(np.asarray(outputs[m]), original, people) for m in METHODS}))
    return cases, identity


def report(cases: list[Case], identity: list[float]) -> None:
    print(f"{'photo':<28} {'fault':<34} " + " ".join(f"{m:>10}" for m in METHODS) + "   (ΔE76)")
    for c in cases:
        print(f"{c.photo[:28]:<28} {c.fault[:34]:<34} " + " ".join(f"{c.scores[m]['de']:10.2f}" for m in METHODS))
    print()
    print(f"{'mean over ' + str(len(cases)) + ' cases':<28} {'ΔE76':>8} {'ΔE-HC':>8} {'PSNR':>8} {'PSNR-HC':>8}")
    means = {m: {k: float(np.mean([c.scores[m][k] for c in cases])) for k in ("de", "de_hc", "psnr", "psnr_hc")}
             for m in METHODS}
    labels = {"none": "no correction", "autolevels": "auto-levels + grey-world", "global": "ours, global only",
              "full": "ours, full plan"}
    for m in METHODS:
        s = means[m]
        print(f"{labels[m]:<28} {s['de']:8.2f} {s['de_hc']:8.2f} {s['psnr']:8.2f} {s['psnr_hc']:8.2f}")
    worse = sum(c.scores["full"]["de"] > c.scores["none"]["de"] for c in cases)
    print(f"{'ours on the originals':<28} {float(np.mean(identity)):8.2f}   (ΔE76 our plan makes on the undegraded "
          f"photos; median {float(np.median(identity)):.2f})")
    print()
    print(f"full / none ΔE76: {means['full']['de'] / means['none']['de']:.2f}  (target ≤ 0.50)")
    print(f"full vs global-only ΔE-HC: {100 * (1 - means['full']['de_hc'] / means['global']['de_hc']):.1f} % lower "
          "(target ≥ 15 %)")
    print(f"full worse than no correction: {worse} of {len(cases)} cases ({100 * worse / len(cases):.1f} %, "
          "target < 10 %)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="a folder of photos (default: shared + sample photos)")
    parser.add_argument("--per-photo", type=int, default=5, help="degradations per photo")
    parser.add_argument("--edge", type=int, default=768, help="long edge of the working images")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--severity", type=float, default=1.0,
                        help="scale of every fault (1: mild, within the spread of well-made photos; 2: clear faults)")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(2)
    photos = folder_photos(args.photos) if args.photos else default_photos()
    start = time.perf_counter()
    cases, identity = run(photos, args.per_photo, args.seed, args.edge, args.severity)
    report(cases, identity)
    print(f"({len(photos)} photos, {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
