"""`airetouch retouch PHOTO...`: plan each photo and write its XMP sidecar (automatic, --plan or --set)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.errors import PlanError, RetouchError
from ..core.plan import RetouchPlan
from ..retoucher import PhotoRequest, PlanRequest, Retoucher, parse_set


def register(sub) -> None:
    p = sub.add_parser("retouch", help="write an XMP sidecar with a retouch plan for each photo",
                       description="Plan each photo (automatically, from --plan, or from --set values) and write "
                                   "its XMP sidecar, merged into any existing one. A batch continues past a bad "
                                   "file and exits non-zero naming it.")
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    p.add_argument("--plan", type=Path, help="a RetouchPlan JSON file to apply instead of the automatic plan")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="[REGION:]NAME=VALUE",
                   help="set a value, e.g. Exposure2012=+0.4 or sky:Highlights=-30 (repeatable)")
    p.add_argument("--instruction", "-i", help='what you want, in words ("brighten the faces a little")')
    p.add_argument("--strength", type=float, default=1.0, help="scale the edits (0..2, default 1)")
    p.add_argument("--click", dest="clicks", action="append", default=[], type=parse_click, metavar="X,Y",
                   help="emphasise the person at X,Y (pixels of the original photo, or 0..1; up to 5)")
    p.add_argument("--avoid", dest="avoids", action="append", default=[], type=parse_click, metavar="X,Y",
                   help="leave the person at X,Y alone (pixels of the original photo, or 0..1; up to 5)")
    p.add_argument("--out", type=Path, help="write sidecars into this folder instead of next to the photos")
    p.add_argument("--dry-run", action="store_true", help="plan and print, write nothing")
    p.add_argument("--json", action="store_true", help="print each plan as JSON")
    p.add_argument("--explain", action="store_true", help="print the regions found and their statistics")
    p.add_argument("--debug-masks", type=Path, metavar="DIR", help="save the region masks as PNG overlays")
    p.add_argument("--no-models", action="store_true", help="use the fallback detectors only")
    p.set_defaults(func=run)


def load_plan(path: Path) -> RetouchPlan:
    """Read a plan JSON file with a clear error for a missing or malformed file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError("plan file not found", path=str(path)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"not valid JSON ({exc})", path=str(path)) from None
    try:
        return RetouchPlan.from_dict(data)
    except PlanError as exc:
        exc.path = str(path)
        raise


def parse_click(text: str) -> dict:
    """`X,Y` -> {x, y} (pixels of the original photo, or normalised 0..1)."""
    import argparse
    try:
        x, y = (float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y, got {text!r}") from None
    return {"x": x, "y": y}


def collect_sets(expressions: list[str]) -> dict[str, dict[str, float]]:
    sets: dict[str, dict[str, float]] = {}
    for expression in expressions:
        target, name, value = parse_set(expression)
        sets.setdefault(target, {})[name] = value
    return sets


def run(args) -> int:
    base = load_plan(args.plan) if args.plan else None
    clicks = [dict(c, positive=True) for c in args.clicks] + [dict(c, positive=False) for c in args.avoids]
    request = PlanRequest(base=base, sets=collect_sets(args.sets), instruction=args.instruction,
                          strength=args.strength, clicks=clicks or None)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    failed: list[tuple[Path, str]] = []
    retoucher = Retoucher(use_models=not args.no_models)
    try:
        for index, path in enumerate(args.photos, 1):
            prefix = f"[{index}/{len(args.photos)}] {path}"
            try:
                result = retoucher.plan(PhotoRequest(path=path), request)
                if args.explain and result.analysis is not None:
                    print(explain(result.analysis))
                if args.debug_masks and result.analysis is not None:
                    from ..vision.debug import save_mask_overlays
                    saved = save_mask_overlays(result.analysis, args.debug_masks, stem=path.stem)
                    print(f"  masks: {len(saved)} overlays in {args.debug_masks}")
                if args.json:
                    print(json.dumps(result.plan.to_dict(), indent=2))
                where = "(dry run)"
                if not args.dry_run:
                    written = retoucher.write_sidecar(result.photo, result.plan, out_dir=args.out)
                    where = f"-> {written.path}"
                print(f"{prefix} {where}")
                for line in result.plan.summary().splitlines():
                    print(f"    {line}")
                for note in result.plan.notes:
                    print(f"    why: {note.text}")
            except RetouchError as exc:
                failed.append((path, f"{exc.code}: {exc.message}"))
                print(f"{prefix} FAILED: {exc.message} [{exc.code}]", file=sys.stderr)
    finally:
        retoucher.close()
    done = len(args.photos) - len(failed)
    print(f"{done} of {len(args.photos)} photo(s) retouched" + (f", {len(failed)} failed:" if failed else ""))
    for path, why in failed:
        print(f"  {path}: {why}", file=sys.stderr)
    return 1 if failed else 0


def explain(analysis) -> str:
    """The regions found and their statistics, for people."""
    lines = []
    for name in sorted(analysis.masks):
        mask = analysis.masks[name]
        share = float(mask.mean()) * 100
        conf = analysis.confidence.get(name)
        line = f"  region {name:<12} {share:5.1f} % of the frame"
        if conf is not None:
            line += f", confidence {conf:.2f}"
        stats = getattr(analysis, "stats", {}).get(name) if hasattr(analysis, "stats") else None
        if stats is not None:
            line += "  " + format_stats(stats)
        lines.append(line)
    scene = getattr(analysis, "scene", None)
    if scene is not None:
        lines.append(f"  scene: {', '.join(scene.tags)}")
    for note in getattr(analysis, "fallbacks", []) or []:
        lines.append(f"  fallback: {note}")
    return "\n".join(lines)


def format_stats(stats) -> str:
    data = stats if isinstance(stats, dict) else getattr(stats, "__dict__", {})
    parts = []
    for key, value in data.items():
        if isinstance(value, float):
            parts.append(f"{key}={value:.3g}")
    return " ".join(parts[:8])
