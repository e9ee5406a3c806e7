"""`airetouch watch IN`: retouch every photo that is in IN or arrives there, exactly once."""
from __future__ import annotations

import signal
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("watch", help="retouch every photo that arrives in a folder (sidecar and/or rendering)",
                       description="Process the photos already in IN and every one that arrives, once each: wait "
                                   "until a file is completely written, then write its XMP sidecar (next to it, or "
                                   "next to a copy in OUT) and/or a rendered JPEG/TIFF in OUT. A file that cannot "
                                   "be read is moved to IN/_failed/ with NAME.error.txt saying why. Originals are "
                                   "never modified. A journal lets a restart resume without redoing work.")
    p.add_argument("in_dir", type=Path, metavar="IN")
    p.add_argument("--out", type=Path, help="output folder (sidecar mode: a copy of each photo plus its sidecar)")
    p.add_argument("--mode", choices=("sidecar", "render", "both"), default="sidecar")
    p.add_argument("--format", choices=("jpeg", "tiff"), default="jpeg", help="rendered file format")
    p.add_argument("--profile", metavar="NAME", help="use the style memory of this profile")
    p.add_argument("--once", action="store_true", help="process what is there now, then exit")
    p.add_argument("--workers", type=int, default=None, help="photos processed at the same time (default "
                                                             "min(2, cpu count))")
    p.add_argument("--stable", type=float, default=1.0, metavar="SECONDS",
                   help="a file is complete when its size and time stay unchanged this long (default 1)")
    p.add_argument("--rescan", type=float, default=30.0, metavar="SECONDS",
                   help="rescan the folder this often, for events the file system did not report (default 30)")
    p.add_argument("--retry-failed", action="store_true",
                   help="retry files whose outputs could not be written before (unchanged files are skipped)")
    p.add_argument("--no-models", action="store_true", help="use the fallback detectors only")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..retoucher import Retoucher
    from ..service.config import WatchFolder, default_workers
    from ..service.watch import FAILED_DIR, Watcher

    folder = WatchFolder(args.in_dir, args.out, args.mode, args.profile, args.format)
    retoucher = Retoucher(use_models=not args.no_models)
    try:
        watcher = Watcher(retoucher, folder, workers=args.workers or default_workers(), stable_s=args.stable,
                          rescan_s=args.rescan, retry_failed=args.retry_failed,
                          report=lambda line: print(line, flush=True))
        print(f"watching {watcher.in_dir} ({watcher.mode}"
              + (f", outputs in {watcher.out_dir}" if watcher.out_dir else "") + ")"
              + ("" if args.once else "; Ctrl-C to stop"), flush=True)
        print(f"journal: {watcher.journal_path}", flush=True)

        def stop(signum, _frame):
            if watcher.stopping:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            print("stopping after the photos in progress ...", file=sys.stderr, flush=True)
            watcher.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        stats = watcher.run(once=args.once)
    finally:
        retoucher.close()
    print(f"summary: {stats.summary()}", flush=True)
    if stats.failed:
        print(f"see {Path(watcher.in_dir) / FAILED_DIR} for the files that could not be read and why",
              flush=True)
    return 1 if (stats.failed or stats.errors) else 0
