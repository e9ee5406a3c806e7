"""The catalog package depends on core and lightroom only (vision, retouch, develop come in as data)."""
from __future__ import annotations

import ast
from pathlib import Path

ALLOWED = ("bridge_server.core", "bridge_server.lightroom")


def test_catalog_imports_only_core_and_lightroom():
    package = Path(__file__).resolve().parents[1] / "catalog"
    offending = []
    for file in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("bridge_server") and not name.startswith(ALLOWED):
                    offending.append(f"{file.name}: {name}")
    assert offending == []
    assert len(list(package.glob("*.py"))) >= 7
