"""Benchmark: develop time of a 24-megapixel raw against LibRaw's own AHD decode of it.

Writes a 6000x4000 DNG whose mosaic is made from a real photo (../shared/data), then prints, in one run:
LibRaw's decode time (rawpy imread + postprocess with AHD, median of several runs), our develop time after
decode for a realistic plan (global settings, 3 local edits: an AI subject mask, an AI sky mask, a radial),
median of several runs, their ratio, and the peak resident memory (whole process, and during develop alone).

    .venv/bin/python bench/render.py [--runs 5] [--tile 1024] [--threads 2] [--photo PATH]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge_server.core.plan import RetouchPlan  # noqa: E402
from bridge_server.imaging import color  # noqa: E402
from bridge_server.imaging.decode import decode  # noqa: E402
from bridge_server.imaging.dng import synthesize_mosaic, write_dng  # noqa: E402

WIDTH, HEIGHT = 6000, 4000
DEFAULT_PHOTO = ROOT.parent / "shared" / "data" / "photos" / "fivek_a1629_input.jpg"


def realistic_plan() -> RetouchPlan:
    """What the predictor typically proposes for an outdoor photo with a person."""
    return RetouchPlan.build(
        {"Exposure2012": 0.35, "Contrast2012": 15, "Highlights2012": -45, "Shadows2012": 35, "Whites2012": 10,
         "Blacks2012": -8, "Texture": 10, "Clarity2012": 12, "Vibrance": 18, "Saturation": 4,
         "Temperature": 5600, "Tint": 6},
        regions=[
            {"region": "subject", "values": {"Exposure2012": 0.25, "Shadows2012": 20, "Clarity2012": -10}},
            {"region": "sky", "values": {"Highlights2012": -30, "Saturation": 15, "Temperature": -8}},
            {"region": "radial", "values": {"Exposure2012": -0.4},
             "masks": [{"kind": "radial", "inverted": True,
                        "geometry": {"top": 0.1, "left": 0.15, "bottom": 0.9, "right": 0.85, "angle": 0,
                                     "feather": 70, "flipped": True}}]},
        ])


def region_masks(height: int, width: int) -> dict[str, np.ndarray]:
    """Masks as the vision stage gives them: about 1024 px on the long edge."""
    h, w = round(1024 * height / width), 1024
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    subject = (((xx - w * 0.55) / (w * 0.18)) ** 2 + ((yy - h * 0.6) / (h * 0.35)) ** 2 <= 1).astype(np.float32)
    sky = np.clip((h * 0.35 - yy) / (h * 0.05), 0, 1).astype(np.float32)
    return {"subject": subject, "sky": sky}


def make_dng(photo: Path, path: Path) -> None:
    from PIL import Image
    with Image.open(photo) as im:
        rgb8 = np.asarray(im.convert("RGB").resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC))
    linear = color.srgb_to_linear(rgb8.astype(np.float32) / 255.0)
    mosaic = synthesize_mosaic(linear, as_shot_neutral=(0.55, 1.0, 0.7))
    write_dng(path, mosaic, as_shot_neutral=(0.55, 1.0, 0.7))


def libraw_decode(path: Path) -> None:
    """LibRaw's own full decode: AHD demosaic, camera white balance, 16-bit linear sRGB."""
    import rawpy
    with rawpy.imread(str(path)) as raw:
        raw.postprocess(demosaic_algorithm=rawpy.DemosaicAlgorithm.AHD, use_camera_wb=True, output_bps=16,
                        gamma=(1, 1), no_auto_bright=True, output_color=rawpy.ColorSpace.sRGB)


def timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    ap.add_argument("--device", default=None)
    ap.add_argument("--no-compile", action="store_true", help="eager torch tiles (no torch.compile)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    from bridge_server.develop import render_tiled

    with tempfile.TemporaryDirectory() as tmp:
        dng = Path(tmp) / "bench_24mp.dng"
        make_dng(args.photo, dng)
        print(f"DNG: {WIDTH}x{HEIGHT} mosaic from {args.photo.name}, {dng.stat().st_size / 1e6:.0f} MB")
        image = decode(dng, "render")
        pixels = image.pixels
        plan, masks = realistic_plan(), region_masks(*pixels.shape[:2])
        kw = dict(tile=args.tile, as_shot=(6504.0, 0.0), device=args.device,
                  compile=False if args.no_compile else None)

        def develop():
            render_tiled(pixels, plan, masks, **kw)

        first = timed(develop)  # compiles the tile kernel (or loads it from torch's cache)
        libraw_decode(dng)
        fresh = reset_peak_rss()
        decode_t, develop_t = [], []
        for _ in range(args.runs):  # interleaved, so that both see the same load on a shared machine
            decode_t.append(timed(lambda: libraw_decode(dng)))
            develop_t.append(timed(develop))
        peak = peak_rss_mb()

    def med(values, i):
        return statistics.median(v[i] for v in values)

    ratios = [d[0] / r[0] for d, r in zip(develop_t, decode_t)]
    print(f"threads {torch.get_num_threads()}, tile {args.tile}, device {args.device or 'cpu'}, "
          f"compiled tiles: {not args.no_compile}")
    print(f"first develop call (includes compiling or loading the tile kernel): {first[0]:.2f} s")
    print(f"LibRaw AHD decode (imread + postprocess), median of {args.runs}: {med(decode_t, 0):.3f} s wall, "
          f"{med(decode_t, 1):.3f} s CPU")
    print(f"develop (render_tiled, global + 3 local edits), median of {args.runs}: {med(develop_t, 0):.3f} s wall, "
          f"{med(develop_t, 1):.3f} s CPU")
    print(f"develop / decode: {statistics.median(ratios):.2f} (median of per-pair ratios; "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"peak RSS during decode + develop runs: {peak:.0f} MB" + ("" if fresh else " (whole process)"))
    print(f"peak RSS of the whole run (incl. DNG synthesis): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
