"""`airetouch match BEFORE AFTER TARGET...`: fit the look of an exemplar pair once, write it to each target."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..retoucher import PhotoRequest, Retoucher


def register(sub) -> None:
    p = sub.add_parser("match", help="match a look: learn an exemplar before/after pair, apply it to photos",
                       description="Fit develop settings (global and per region) that turn BEFORE into AFTER, "
                                   "then write them to each TARGET's XMP sidecar through the target's own "
                                   "regions. Continues past a bad target and exits non-zero naming it.")
    p.add_argument("before", type=Path, metavar="BEFORE", help="the exemplar photo before editing")
    p.add_argument("after", type=Path, metavar="AFTER", help="the same photo after editing (exported)")
    p.add_argument("targets", nargs="+", type=Path, metavar="TARGET")
    p.add_argument("--out", type=Path, help="write sidecars into this folder instead of next to the photos")
    p.add_argument("--steps", type=int, default=150, help="most optimisation steps of the fit (default 150)")
    p.add_argument("--dry-run", action="store_true", help="fit and print, write nothing")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--no-models", action="store_true", help="use the fallback detectors only")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    retoucher = Retoucher(use_models=not args.no_models)
    try:
        answer = retoucher.match(PhotoRequest(path=args.before), PhotoRequest(path=args.after),
                                 [PhotoRequest(path=t) for t in args.targets], write_sidecars=not args.dry_run,
                                 out_dir=args.out, steps=args.steps)
    finally:
        retoucher.close()
    failed = [r for r in answer["results"] if not r["ok"]]
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        fit = answer["fit"]
        print(f"fitted {args.before.name} -> {args.after.name}: mean ΔE76 {fit['delta_e']:.2f} "
              f"(unedited {fit['baseline_delta_e']:.2f}), {fit['steps']} steps")
        for r in answer["results"]:
            prefix = f"[{r['index'] + 1}/{len(args.targets)}] {r['path']}"
            if r["ok"]:
                print(f"{prefix} " + (f"-> {r['sidecar']}" if r.get("sidecar") else "(dry run)"))
                for line in r["summary"].splitlines():
                    print(f"    {line}")
                for note in r["notes"]:
                    print(f"    why: {note}")
            else:
                print(f"{prefix} FAILED: {r['error']['message']} [{r['error']['code']}]", file=sys.stderr)
    print(f"{len(args.targets) - len(failed)} of {len(args.targets)} photo(s) matched"
          + (f", {len(failed)} failed:" if failed else ""))
    for r in failed:
        print(f"  {r['path']}: {r['error']['code']}: {r['error']['message']}", file=sys.stderr)
    return 1 if failed else 0
