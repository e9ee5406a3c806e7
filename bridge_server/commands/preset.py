"""`airetouch preset PLAN.json --name N --group G [--dir D]`: write a Lightroom develop preset."""
from __future__ import annotations

from pathlib import Path

from .retouch import load_plan


def register(sub) -> None:
    p = sub.add_parser("preset", help="write a develop preset that Lightroom Classic loads",
                       description="Write the plan as a develop preset (.xmp). AI-mask corrections make it an "
                                   "adaptive preset. Lightroom reads new presets when it starts.")
    p.add_argument("plan", type=Path, metavar="PLAN.json")
    p.add_argument("--name", required=True)
    p.add_argument("--group", default="AI Retouch")
    p.add_argument("--dir", type=Path, help="presets folder (default: Lightroom/Camera Raw's Settings folder)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..lightroom.preset import default_presets_dir, write_preset
    plan = load_plan(args.plan)
    directory = args.dir or default_presets_dir()
    path = write_preset(plan, args.name, args.group, directory=directory)
    print(f"preset written: {path}")
    print("Lightroom Classic reads presets when it starts: restart it to see the preset.")
    return 0
