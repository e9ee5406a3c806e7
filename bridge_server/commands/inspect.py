"""`airetouch inspect FILE`: read any Lightroom/Camera Raw XMP (sidecar, preset, embedded) into a plan."""
from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("inspect", help="read Lightroom develop settings from an XMP, preset or image",
                       description="Read a sidecar, a develop preset or the XMP embedded in a JPEG/TIFF/DNG into a "
                                   "RetouchPlan and print it.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..lightroom.reader import read_plan
    plan = read_plan(args.file)
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"{args.file}:")
    for line in plan.summary().splitlines():
        print(f"  {line}")
    for edit in plan.regions:
        for mask in edit.mask_components():
            what = mask.region or mask.kind
            mode = f" ({mask.mode})" if mask.mode != "add" else ""
            print(f"    {edit.name or edit.region}: mask {what}{mode}{' inverted' if mask.inverted else ''}")
    if plan.other:
        print(f"  + {len(plan.other)} other setting(s) kept as they are")
    return 0
