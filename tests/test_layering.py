"""The layering rule of DESIGN.md: imports point down, never up, and nothing imports the service or the CLI."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Which layers each layer may import (besides itself and third-party code).
ALLOWED = {
    "core": set(),
    "imaging": {"core"},
    "vision": {"core", "imaging"},
    "develop": {"core", "imaging"},
    "lightroom": {"core", "imaging"},
    "retouch": {"core", "imaging", "vision", "develop"},
    "catalog": {"core", "lightroom"},
    "retoucher": {"core", "imaging", "vision", "develop", "lightroom", "retouch", "catalog"},
    "service": {"core", "imaging", "vision", "develop", "lightroom", "retouch", "catalog", "retoucher"},
    "commands": {"core", "imaging", "vision", "develop", "lightroom", "retouch", "catalog", "retoucher", "service"},
    "cli": {"core", "commands"},
}


def layer_of(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    if rel[0] == "catalog":
        return "catalog"
    if len(rel) == 2:  # bridge_server/<module>.py
        return Path(rel[1]).stem
    return rel[1]


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                names = [".".join(base + ([node.module] if node.module else []))]
                if not node.module:
                    names = [".".join(base + [a.name]) for a in node.names]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if parts[0] == "catalog":
                found.add("catalog")
            elif parts[0] == "bridge_server" and len(parts) > 1 and parts[1] not in ("__init__", "__version__"):
                found.add(parts[1])
    return found


def test_imports_point_down_only():
    wrong = []
    files = list((ROOT / "bridge_server").rglob("*.py")) + list((ROOT / "catalog").rglob("*.py"))
    for path in files:
        layer = layer_of(path)
        if layer == "__init__":
            continue
        for other in imported_layers(path) - {layer}:
            if other not in ALLOWED.get(layer, set()):
                wrong.append(f"{path.relative_to(ROOT)} ({layer}) imports {other}")
    assert not wrong, "\n".join(sorted(wrong))
