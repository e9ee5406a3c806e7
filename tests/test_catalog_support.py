"""Helpers for the catalog tests (no tests here): derive edited catalogs from the real LR5 catalog."""
from __future__ import annotations

import shutil
import sqlite3
import zlib
from pathlib import Path

LR5 = Path("lightroom") / "catalogs" / "lightroom5_test_catalog.lrcat"


def lua_literal(value, indent: str = "") -> str:
    """Python data -> a Lua table literal in Lightroom's style (for writing test catalogs)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "{ " + ",\n".join(lua_literal(v, indent) for v in value) + " }"
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = k if isinstance(k, str) and k.isidentifier() else f"[{lua_literal(k)}]"
            items.append(f"{key} = {lua_literal(v, indent)}")
        return "{ " + ",\n".join(items) + " }"
    raise TypeError(value)


def compressed(text: str) -> bytes:
    """The newer catalogs' BLOB form: 4-byte big-endian length, then a zlib stream."""
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + zlib.compress(data)


def copy_catalog(shared_data: Path, tmp: Path, name: str = "Derived.lrcat") -> Path:
    target = tmp / name
    shutil.copyfile(shared_data / LR5, target)
    target.chmod(0o644)
    return target


def develop_text(path: Path, image_id: int) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT text FROM Adobe_imageDevelopSettings WHERE image = ?", (image_id,)).fetchone()[0]


def set_develop(path: Path, image_id: int, text_or_blob, *, has_adjustments: float = 1.0) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE Adobe_imageDevelopSettings SET text = ?, hasDevelopAdjustmentsEx = ? WHERE image = ?",
                     (text_or_blob, has_adjustments, image_id))
    conn.close()


def point_photos_at(path: Path, folder: Path, photos: dict[int, Path]) -> dict[int, Path]:
    """Make the catalog's images live under `folder` (each root folder becomes folder/r<id>/, relative
    "<folder name>/r<id>/" from the catalog): image id -> where a copy of the given real photo now is."""
    conn = sqlite3.connect(path)
    out = {}
    with conn:
        for (root_id,) in conn.execute("SELECT id_local FROM AgLibraryRootFolder").fetchall():
            conn.execute("UPDATE AgLibraryRootFolder SET absolutePath = ?, relativePathFromCatalog = ? "
                         "WHERE id_local = ?", (f"{folder}/r{root_id}/", f"{folder.name}/r{root_id}/", root_id))
        for image_id, photo in photos.items():
            file_id = conn.execute("SELECT rootFile FROM Adobe_images WHERE id_local = ?", (image_id,)).fetchone()[0]
            base, ext = f"img{image_id}", photo.suffix.lstrip(".")
            conn.execute("UPDATE AgLibraryFile SET baseName = ?, extension = ?, idx_filename = ?, "
                         "lc_idx_filename = ? WHERE id_local = ?",
                         (base, ext, f"{base}.{ext}", f"{base}.{ext}".lower(), file_id))
            where = conn.execute(
                "SELECT r.absolutePath || fo.pathFromRoot || f.baseName || '.' || f.extension FROM AgLibraryFile f "
                "JOIN AgLibraryFolder fo ON fo.id_local = f.folder "
                "JOIN AgLibraryRootFolder r ON r.id_local = fo.rootFolder WHERE f.id_local = ?",
                (file_id,)).fetchone()[0]
            target = Path(where)
            target.parent.mkdir(parents=True, exist_ok=True)
            if photo.exists():
                shutil.copyfile(photo, target)
            out[image_id] = target
    conn.close()
    return out
