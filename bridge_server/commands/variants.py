"""`airetouch variants PHOTO [--out DIR]`: a few distinct candidate retouches with small previews."""
from __future__ import annotations

import json
from pathlib import Path

from ..retoucher import PhotoRequest, PlanRequest, Retoucher


def register(sub) -> None:
    p = sub.add_parser("variants", help="write a few distinct candidate retouches (previews and plans)",
                       description="Plan the photo, then build 3-5 distinct styles on the plan (natural, bright & "
                                   "airy, warm, moody, clean & cool); write each preview (NAME.jpg, ~256 px) and "
                                   "plan (NAME.json) into --out.")
    p.add_argument("photo", type=Path, metavar="PHOTO")
    p.add_argument("--out", type=Path, help="folder for the previews and plans (default: PHOTO-variants)")
    p.add_argument("-n", type=int, default=4, help="how many variants (3..5, default 4)")
    p.add_argument("--instruction", "-i", help="words applied to the plan before the variants are built")
    p.add_argument("--no-models", action="store_true", help="use the fallback detectors only")
    p.set_defaults(func=run)


def run(args) -> int:
    out = args.out or args.photo.with_name(args.photo.stem + "-variants")
    retoucher = Retoucher(use_models=not args.no_models)
    try:
        found = retoucher.variants(PhotoRequest(path=args.photo), PlanRequest(instruction=args.instruction), n=args.n)
    finally:
        retoucher.close()
    out.mkdir(parents=True, exist_ok=True)
    for v in found:
        (out / f"{v.name}.jpg").write_bytes(v.preview_jpeg_bytes)
        (out / f"{v.name}.json").write_text(json.dumps(v.plan.to_dict(), indent=2), encoding="utf-8")
        print(f"{v.name}: {v.description} -> {out / (v.name + '.jpg')}")
    print(f"{len(found)} variant(s) in {out}")
    return 0 if found else 1
