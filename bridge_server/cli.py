"""`airetouch`: the command line. Each subcommand lives in bridge_server/commands/<name>.py with a
`register(subparsers)` function that adds its parser and sets `func(args) -> int` (the exit status)."""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from . import __version__, commands
from .core.errors import RetouchError

# Order of the subcommands in --help; any other module in commands/ is appended.
ORDER = ("retouch", "inspect", "preset", "render", "models", "serve", "watch", "learn", "memory", "match",
         "variants", "token")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airetouch", description="AI Retouch: per-region, editable Lightroom develop settings, computed locally.")
    parser.add_argument("--version", action="version", version=f"airetouch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    for name in sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        importlib.import_module(f"{commands.__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RetouchError as exc:
        print(f"airetouch: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("airetouch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
