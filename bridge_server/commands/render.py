"""`airetouch render PHOTO --plan PLAN.json | --xmp SIDECAR --out OUT.jpg|OUT.tif`: develop a photo ourselves."""
from __future__ import annotations

from pathlib import Path

from ..core.errors import PlanError
from ..retoucher import PhotoRequest, PlanRequest, Retoucher
from .retouch import load_plan

FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}


def register(sub) -> None:
    p = sub.add_parser("render", help="render a photo with a plan or a sidecar into a JPEG or 16-bit TIFF",
                       description="Develop the photo with our renderer at full resolution. The output carries the "
                                   "source's EXIF, IPTC and XMP metadata (without Camera Raw settings, so Lightroom "
                                   "does not apply them twice) and AI Retouch provenance.")
    p.add_argument("photo", type=Path, metavar="PHOTO")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--plan", type=Path, help="a RetouchPlan JSON file")
    source.add_argument("--xmp", type=Path, help="a Lightroom/Camera Raw sidecar or preset")
    p.add_argument("--out", type=Path, required=True, help="OUT.jpg (8-bit sRGB) or OUT.tif (16-bit)")
    p.add_argument("--colorspace", choices=("srgb", "adobe_rgb", "prophoto"), default="srgb",
                   help="colour space of a TIFF output (JPEG is always sRGB)")
    p.set_defaults(func=run)


def run(args) -> int:
    fmt = FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        raise PlanError("the output must end in .jpg, .jpeg, .tif or .tiff", path=str(args.out))
    retoucher = Retoucher()
    try:
        photo = PhotoRequest(path=args.photo)
        if args.plan:
            plan = load_plan(args.plan)
        elif args.xmp:
            plan = retoucher.read_plan(args.xmp)
        else:
            plan = retoucher.plan(photo, PlanRequest()).plan
        info = retoucher.render(photo, plan, args.out, format=fmt, colorspace=args.colorspace)
    finally:
        retoucher.close()
    print(f"{args.photo} -> {info['out']} ({info['width']}x{info['height']})")
    return 0
