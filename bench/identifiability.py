"""How much of a fault can any predictor see? The spread of well-made photos against the size of the faults.

bench/quality.py asks the predictor to undo seeded faults of known size. A fault can only be undone as far as
it stands out from how the original photos naturally vary. This prints, for the photos of bench/quality.py:

1. the range over the original photos of the statistics an automatic predictor reads (face L*, frame median
   L*, white point, share of pixels at white, cast of the near-grey tones, people-vs-surroundings gap), next to
   the mean shift each fault family causes in them;
2. a learned upper bound: ridge regressions from those statistics to the fault's exposure (EV) and white
   balance (temperature), trained leave-one-photo-out on degraded copies of the *other* photos (training
   seeds differ from the benchmark's), against predicting "no fault".

    python bench/identifiability.py [--seeds N] [--edge PX] [--severity X]
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import default_photos, faults, resize_long_edge  # noqa: E402

from bridge_server.develop import render  # noqa: E402
from bridge_server.retouch.predictor import Predictor, _lab, grey_tones  # noqa: E402
from bridge_server.vision.regions import analyse  # noqa: E402

NAMES = ("face_l", "median_l", "white_l", "at_white_pct", "grey_a", "grey_b", "gap_l")


def statistics(analysis) -> dict[str, float]:
    """What the predictor reads, measured as it measures it."""
    image = np.asarray(analysis.working, np.float32)
    masks = analysis.masks
    sampler = Predictor()
    frame = _lab(sampler._sample(image, None).pixels)
    out = {"median_l": float(np.median(frame[:, 0])), "white_l": float(np.percentile(frame[:, 0], 99.9)),
           "at_white_pct": 100 * float((frame[:, 0] >= 99.0).mean()), "face_l": math.nan, "gap_l": math.nan}
    pool = sampler._neutral_sample(image, masks)
    lab = _lab(pool.pixels)
    pick = grey_tones(lab)
    out["grey_a"] = float(np.median(lab[pick, 1])) if pick.any() else math.nan
    out["grey_b"] = float(np.median(lab[pick, 2])) if pick.any() else math.nan
    face = sampler._sample(image, masks["face_skin"]) if "face_skin" in masks else None
    if face is not None:
        out["face_l"] = float(np.median(_lab(face.pixels)[:, 0]))
    people = sampler._sample(image, masks["subject"]) if "subject" in masks else None
    around = sampler._sample(image, masks["background"]) if "background" in masks else None
    if people is not None and around is not None:
        out["gap_l"] = float(np.median(_lab(around.pixels)[:, 0]) - np.median(_lab(people.pixels)[:, 0]))
    return out


def family(fault: str) -> str:
    return fault.split(" ")[0] if not fault.startswith(("white", "blown", "skin")) else " ".join(fault.split()[:2])


def features(s: dict[str, float]) -> list[float]:
    face = s["face_l"] if not math.isnan(s["face_l"]) else s["median_l"]
    return [face, s["median_l"], s["white_l"], math.log(s["at_white_pct"] / 100 + 0.002),
            np.nan_to_num(s["grey_a"]), np.nan_to_num(s["grey_b"]), float(not math.isnan(s["face_l"]))]


def ridge_lopo(x: np.ndarray, y: np.ndarray, groups: np.ndarray, lam: float = 10.0) -> np.ndarray:
    """Leave-one-group-out ridge predictions (features standardised on the training part)."""
    pred = np.zeros_like(y)
    for g in np.unique(groups):
        train = groups != g
        mu, sd = x[train].mean(0), x[train].std(0) + 1e-9
        z = np.c_[np.ones(train.sum()), (x[train] - mu) / sd]
        w = np.linalg.solve(z.T @ z + lam * np.eye(z.shape[1]), z.T @ y[train])
        pred[~train] = np.c_[np.ones((~train).sum()), (x[~train] - mu) / sd] @ w
    return pred


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="degraded copies per photo and fault family")
    parser.add_argument("--edge", type=int, default=512)
    parser.add_argument("--severity", type=float, default=1.0)
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(2)
    originals: dict[str, dict[str, float]] = {}
    rows = []  # (photo, family, truth ev, truth temperature, statistics)
    for name, pixels in default_photos():
        image = resize_long_edge(pixels, args.edge)
        truth = analyse(image)
        originals[name] = statistics(truth)
        for seed in range(100, 100 + args.seeds):  # the benchmark uses seed 7
            for fault, plan in faults(random.Random(f"{seed}:{name}"), truth, args.severity):
                degraded = np.clip(render(image, plan, truth.masks), 0, None).astype(np.float32)
                ev = plan.global_.get("Exposure2012", 0.0)
                temp = plan.global_.get("IncrementalTemperature", 0.0)
                rows.append((name, family(fault), ev, temp, statistics(analyse(degraded))))

    print(f"1. statistics of the {len(originals)} original photos, and the mean shift each fault family causes")
    fams = sorted({r[1] for r in rows})
    print(f"{'statistic':<14} {'originals min':>14} {'max':>7} {'spread(sd)':>10}   " +
          " ".join(f"{f[:12]:>12}" for f in fams))
    for key in NAMES:
        vals = np.array([s[key] for s in originals.values()], float)
        vals = vals[~np.isnan(vals)]
        shifts = []
        for f in fams:
            d = [abs(r[4][key] - originals[r[0]][key]) for r in rows if r[1] == f]
            d = [v for v in d if not math.isnan(v)]
            shifts.append(f"{np.mean(d):12.1f}" if d else f"{'-':>12}")
        print(f"{key:<14} {vals.min():14.1f} {vals.max():7.1f} {vals.std():10.1f}   " + " ".join(shifts))

    print()
    print("2. leave-one-photo-out ridge regression from these statistics to the fault (upper bound of a learned "
          "global predictor)")
    x = np.array([features(r[4]) for r in rows])
    groups = np.array([r[0] for r in rows])
    for label, column, fam in (("exposure EV", 2, "exposure"), ("temperature", 3, "white balance")):
        y = np.array([r[column] for r in rows], float)
        pred = ridge_lopo(x, y, groups)
        own = np.array([r[1] == fam for r in rows])
        print(f"{label:<12} cases of its family: mean |fault| {np.abs(y[own]).mean():6.2f}, mean |fault - "
              f"predicted| {np.abs(y[own] - pred[own]).mean():6.2f};  all cases: no-fault guess "
              f"{np.abs(y).mean():6.2f}, predicted {np.abs(y - pred).mean():6.2f}")
    print(f"({len(rows)} degraded copies of {len(originals)} photos)")


if __name__ == "__main__":
    main()
