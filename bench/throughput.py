"""Time from file to plan: decode (analysis), analyse, predict, on a 1024-px JPEG and a 24-megapixel DNG with an
embedded preview. Prints medians (and the stages) over several runs, after one warm-up run each.

    python bench/throughput.py [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge_server.imaging.color import linear_to_srgb  # noqa: E402
from bridge_server.imaging.decode import decode, resize_to_edge  # noqa: E402
from bridge_server.imaging.dng import synthesize_mosaic, write_dng  # noqa: E402
from bridge_server.imaging.encode import write_jpeg  # noqa: E402
from bridge_server.retouch.predictor import predict  # noqa: E402
from bridge_server.vision.regions import analyse  # noqa: E402


def make_inputs(folder: Path) -> dict[str, Path]:
    """A 1024-px JPEG and a 6000x4000 DNG (with a 1024-px embedded preview) made from a real group photo."""
    source = ROOT.parent / "shared" / "data" / "photos" / "family_indoor_group.jpg"
    linear = decode(source, "render").pixels
    jpeg = folder / "group_1024.jpg"
    write_jpeg(jpeg, resize_to_edge(linear, 1024) if max(linear.shape[:2]) > 1024 else
               _upscale(linear, 1024))
    big = _upscale(linear, 6000)[:4000, :6000]
    preview = (np.clip(np.asarray(linear_to_srgb(resize_to_edge(big, 1024))), 0, 1) * 255 + 0.5).astype(np.uint8)
    dng = folder / "group_24mp.dng"
    write_dng(dng, synthesize_mosaic(big), preview=preview)
    return {"1024-px JPEG": jpeg, "24 MP DNG with preview": dng}


def _upscale(img: np.ndarray, edge: int) -> np.ndarray:
    import cv2
    h, w = img.shape[:2]
    k = edge / max(h, w)
    return cv2.resize(img, (round(w * k), round(h * k)), interpolation=cv2.INTER_CUBIC).astype(np.float32)


def time_one(path: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    image = decode(path, "analysis", max_edge=1024)
    t1 = time.perf_counter()
    analysis = analyse(image)
    t2 = time.perf_counter()
    predict(analysis, is_raw=image.is_raw)
    t3 = time.perf_counter()
    return {"decode": t1 - t0, "analyse": t2 - t1, "predict": t3 - t2, "total": t3 - t0}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(2)
    targets = {"1024-px JPEG": 0.150, "24 MP DNG with preview": 0.250}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(Path(tmp))
        for label, path in inputs.items():
            time_one(path)  # warm-up: models loaded, ExifTool started
            runs = [time_one(path) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) * 1000 for k in runs[0]}
            stages = ", ".join(f"{k} {v:.0f} ms" for k, v in med.items() if k != "total")
            print(f"{label:<24} median file->plan {med['total']:6.0f} ms (target {targets[label] * 1000:.0f} ms)"
                  f"   [{stages}]  over {args.runs} runs")


if __name__ == "__main__":
    main()
