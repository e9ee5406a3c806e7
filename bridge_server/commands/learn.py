"""`airetouch learn CATALOG.lrcat`: learn a photographer's style from a Lightroom catalog's edits."""
from __future__ import annotations

import sys
from pathlib import Path

from ..retoucher import Retoucher


def register(sub) -> None:
    p = sub.add_parser("learn", help="learn your style from a Lightroom catalog (read only)",
                       description="Read a Lightroom Classic catalog (a copy; the live file is never written) and "
                                   "learn, per region and scene, how its edited photos differ from what AI Retouch "
                                   "would propose. Close Lightroom first, or it may hold the catalog locked.")
    p.add_argument("lrcat", type=Path, metavar="CATALOG.lrcat")
    p.add_argument("--catalog-id", help="the catalog id the plugin uses (default: the catalog's own id)")
    p.set_defaults(func=run)


def run(args) -> int:
    retoucher = Retoucher()

    def progress(done: int, total: int, label: str) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[-40:]:<40}", end="",
              file=sys.stderr, flush=True)

    try:
        summary = retoucher.learn({"id": args.catalog_id, "path": str(args.lrcat)}, args.lrcat, progress=progress)
    finally:
        retoucher.close()
    print(file=sys.stderr)
    print(f"{summary.get('read', 0)} photo(s) read, {summary.get('learned', 0)} learned")
    for reason, count in sorted((summary.get("skipped") or {}).items()):
        print(f"  skipped {count}: {reason.replace('_', ' ')}")
    return 0
