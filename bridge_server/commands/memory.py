"""`airetouch memory show|reset|export|import --catalog ID`: a catalog's (or watch profile's) style memory."""
from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import PlanError


def register(sub) -> None:
    p = sub.add_parser("memory", help="show, reset, export or import a catalog's style memory")
    p.add_argument("action", choices=("show", "reset", "export", "import"))
    p.add_argument("--catalog", required=True, help="catalog id, catalog path, or profile:NAME")
    p.add_argument("--file", "-f", type=Path, help="JSON file for export/import")
    p.set_defaults(func=run)


def _catalog(value: str) -> dict:
    return {"id": value} if value.startswith("profile:") or not value.endswith(".lrcat") else {"path": value}


def run(args) -> int:
    from catalog.memory import StyleMemory
    memory = StyleMemory.for_catalog(_catalog(args.catalog))
    if args.action == "show":
        print(json.dumps(memory.summary(), indent=2, ensure_ascii=False))
    elif args.action == "reset":
        backup = memory.reset()
        print("memory reset" + (f"; what was forgotten is kept in {backup}" if backup else ""))
    elif args.action == "export":
        if args.file is None:
            raise PlanError("export needs a FILE to write")
        data = memory.export_json()
        args.file.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), encoding="utf-8")
        print(f"exported to {args.file}")
    else:
        if args.file is None:
            raise PlanError("import needs a FILE to read")
        try:
            data = json.loads(args.file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise PlanError(f"cannot read the export: {exc}", path=str(args.file)) from None
        memory.import_json(data)
        print(f"imported {args.file}")
    return 0
