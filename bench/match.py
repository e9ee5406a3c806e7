"""Benchmark "match a look": fit known plans from rendered pairs, then transfer them to other photos.

For each photo and each known plan (global and regional) the "after" is our renderer's output; the plan is
fitted from the pair; we print the mean ΔE76 between the after and the re-rendered fit (target < 2), and the
transfer error: the fitted plan applied to the OTHER photos (through their own masks) against those photos
rendered with the known plan, next to the no-edit baseline (the other photo unedited against the known render).

    AIRETOUCH_MODELS_DIR=.models .venv/bin/python bench/match.py [--photos N] [--size 96] [--steps 90]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge_server.core.plan import RegionEdit, RetouchPlan  # noqa: E402
from bridge_server.develop import render  # noqa: E402
from bridge_server.imaging.color import delta_e76, rgb_linear_to_lab  # noqa: E402
from bridge_server.imaging.decode import decode, resize_to_edge  # noqa: E402
from bridge_server.retouch.exemplar import fit_plan, transfer  # noqa: E402
from bridge_server.vision.regions import analyse  # noqa: E402

PHOTOS = Path("/work/shared/data/photos")
PLANS = {
    "warm+bright": lambda: RetouchPlan.build({"Exposure2012": 0.4, "IncrementalTemperature": 25}),
    "moody": lambda: RetouchPlan.build({"Exposure2012": -0.3, "Contrast2012": 25, "Saturation": -25,
                                        "IncrementalTemperature": -15}),
    "subject pop": lambda: RetouchPlan.build({"Vibrance": 15}, [
        RegionEdit("subject", {"Exposure2012": 0.3}),
        RegionEdit("background", {"Exposure2012": -0.5, "Saturation": -30})]),
}


def mean_de(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(delta_e76(rgb_linear_to_lab(np.clip(a, 0, 1)), rgb_linear_to_lab(np.clip(b, 0, 1)))))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=3)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--steps", type=int, default=90)
    args = ap.parse_args()
    torch.set_num_threads(2)
    files = sorted(PHOTOS.glob("*.jpg"))[: max(2, args.photos)]
    analyses = {f.name: analyse(decode(f, "analysis", max_edge=512)) for f in files}
    small = {k: resize_to_edge(a.working, 256) for k, a in analyses.items()}
    rows, times = [], []
    print(f"{'photo':<26} {'plan':<12} {'before':>7} {'fit':>6} {'xfer':>6} {'no-edit':>8} {'s':>5}")
    for name, an in analyses.items():
        for label, make in PLANS.items():
            known = make()
            after = render(an.working, known, an.masks)
            t = time.perf_counter()
            fit = fit_plan(an.working, after, an.masks, size=args.size, steps=args.steps)
            secs = time.perf_counter() - t
            xfer, base = [], []
            for other, oan in analyses.items():
                if other == name:
                    continue
                truth = render(small[other], known, oan.masks)
                xfer.append(mean_de(render(small[other], transfer(fit.plan, oan), oan.masks), truth))
                base.append(mean_de(small[other], truth))
            rows.append((fit.baseline_delta_e, fit.delta_e, np.mean(xfer), np.mean(base)))
            times.append(secs)
            print(f"{name:<26} {label:<12} {fit.baseline_delta_e:7.2f} {fit.delta_e:6.2f} {np.mean(xfer):6.2f} "
                  f"{np.mean(base):8.2f} {secs:5.1f}", flush=True)
    m = np.mean(rows, axis=0)
    print(f"{'mean':<39} {m[0]:7.2f} {m[1]:6.2f} {m[2]:6.2f} {m[3]:8.2f}")
    print(f"fits under ΔE76 2: {sum(r[1] < 2 for r in rows)}/{len(rows)}; worst fit {max(r[1] for r in rows):.2f}; "
          f"fit time median {np.median(times):.1f} s, total {sum(times):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
