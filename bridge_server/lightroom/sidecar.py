"""Write a plan as the XMP sidecar of one photo: create it, or merge into the one that is there.

The sidecar is `<photo basename>.xmp` (an existing `.XMP` is used as it is). Merging keeps every namespace
and property we do not own byte-for-byte (see merge.py) and replaces only our own earlier corrections and
spots and the crs values the plan sets. The previous file is kept in `.airetouch-backup/` beside it, the new
one replaces it atomically with the old permissions, a malformed sidecar is never overwritten
(SidecarConflictError), and the photo itself is never opened for writing.
"""
from __future__ import annotations

import copy
import errno
import os
import stat
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from ..core.errors import NotFoundError, PermissionDeniedError, PlanError, SidecarConflictError, XmpError
from ..core.plan import RetouchPlan
from ..imaging.atomic import atomic_path
from ..imaging.decode import is_raw_path
from .merge import OWN_FIELDS, MergeReport, merge_packet
from .ownership import Ownership, edit_digest, spot_digest
from .rdf import AIRETOUCH, CRS, property_value
from .reader import descriptions, read_xmp
from .xmlpos import RDF, parse
from .writer import crs_for, plan_to_xmp, sidecar_packet

__all__ = ["SidecarResult", "is_raw_path", "plan_to_xmp", "sidecar_path", "write_sidecar"]

BACKUP_DIR = ".airetouch-backup"
BACKUPS_KEPT = 5


@dataclass(kw_only=True)
class SidecarResult(MergeReport):
    """What write_sidecar did: where, whether it created or merged, the backup, and the merge's counts."""

    path: Path
    created: bool
    backup: Path | None = None

    def to_dict(self) -> dict:
        """JSON form for the API and the CLI."""
        out = asdict(self)
        out["path"] = str(self.path)
        out["backup"] = str(self.backup) if self.backup else None
        return out


def sidecar_path(photo: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> Path:
    """The sidecar of a photo: an existing NAME.xmp or NAME.XMP in the folder, else NAME.xmp."""
    photo = Path(photo)
    folder = Path(out_dir) if out_dir is not None else photo.parent
    for suffix in (".xmp", ".XMP"):
        candidate = folder / (photo.stem + suffix)
        if candidate.exists():
            return candidate
    return folder / (photo.stem + ".xmp")


def write_sidecar(photo_path: str | os.PathLike, plan: RetouchPlan, *, out_dir: str | os.PathLike | None = None,
                  is_raw: bool | None = None) -> SidecarResult:
    """Write or merge the plan into the photo's XMP sidecar (in `out_dir` when given); see module doc."""
    photo = Path(photo_path)
    if photo.suffix.lower() == ".xmp":
        raise PlanError(f"{photo} is an XMP file, not a photo: give the photo the sidecar belongs to",
                        field="photo.path")
    if not photo.is_file():
        raise NotFoundError(f"the photo {photo} does not exist; no sidecar written", path=str(photo))
    raw = is_raw_path(photo) if is_raw is None else is_raw
    target = sidecar_path(photo, out_dir)
    if target.is_symlink():
        target = target.resolve()
    base_path = target if target.exists() else None
    if base_path is None and out_dir is not None and sidecar_path(photo).exists():
        base_path = sidecar_path(photo)
    if base_path is None:
        data, done, record = sidecar_packet(plan, is_raw=raw)
        _check(data, None, done, record, target)
        _write(target, data, None)
        return _result(target, True, None, MergeReport(written_corrections=len(done.regions),
                                                       written_spots=len(done.spots)))
    original = _read(base_path)
    crs, done = crs_for(plan, is_raw=raw)
    record = Ownership.of_plan(done)
    merged, report = merge_packet(original, done, crs, record, str(base_path), is_raw=raw)
    _check(merged, original, done, record, base_path)
    backup = _write(target, merged, original if base_path == target else None)
    return _result(target, base_path != target, backup, report)


def _result(path: Path, created: bool, backup: Path | None, report: MergeReport) -> SidecarResult:
    """A SidecarResult from a merge report."""
    counts = {f.name: copy.copy(getattr(report, f.name)) for f in fields(MergeReport)}
    return SidecarResult(path=path, created=created, backup=backup, **counts)


def _read(path: Path) -> bytes:
    """The existing sidecar's bytes (typed errors)."""
    try:
        return path.read_bytes()
    except PermissionError:
        raise PermissionDeniedError(f"cannot read the existing sidecar {path}", path=str(path)) from None
    except OSError as exc:
        raise SidecarConflictError(f"cannot read the existing sidecar ({exc.strerror or exc})", path=str(path)
                                   ) from None


def _check(data: bytes, original: bytes | None, done: RetouchPlan, record: Ownership, path: Path) -> None:
    """Read the new packet back: our corrections are there once each, nothing of anyone else's changed."""
    try:
        doc = read_xmp(data)
    except XmpError as exc:
        raise SidecarConflictError(f"internal check failed, sidecar not written: {exc.message}", path=str(path)
                                   ) from None
    written = [e.sync_id for e in doc.plan.regions if e.sync_id in record.corrections]
    problems = []
    if sorted(written) != sorted(record.corrections):
        problems.append("our corrections are not all present exactly once")
    if original is not None:
        problems += _foreign_changes(original, data)
        problems += _lost_user_edits(original, doc)
    if problems:
        raise SidecarConflictError(f"internal check failed, sidecar not written: {'; '.join(problems)}",
                                   path=str(path))


def _lost_user_edits(original: bytes, merged) -> list[str]:
    """Corrections and spots of the photographer's (all but our unchanged ones) missing after the merge."""
    try:
        before = read_xmp(original, require_crs=False)
    except XmpError:
        return []
    own = before.ownership
    theirs = {(e.sync_id, edit_digest(e)) for e in before.plan.regions if not own.owns_edit(e)}
    theirs_spots = {spot_digest(s) for s in before.plan.spots if not own.owns_spot(s)}
    now = {(e.sync_id, edit_digest(e)) for e in merged.plan.regions}
    now_spots = {spot_digest(s) for s in merged.plan.spots}
    missing = len(theirs - now) + len(theirs_spots - now_spots)
    return [f"{missing} correction(s) or spot(s) of the photographer's would change"] if missing else []


def _foreign_changes(original: bytes, merged: bytes) -> list[str]:
    """Properties outside crs and our record that differ between the two packets (must be none)."""
    def foreign(data: bytes) -> dict:
        out: dict = {}
        for desc in descriptions(parse(data)):
            for attr in desc.attrs:
                if attr.ns not in (CRS, RDF) and not (
                        attr.ns == AIRETOUCH and attr.name in OWN_FIELDS):
                    out[(attr.ns, attr.name)] = attr.value
            for child in desc.children:
                if child.ns != CRS and not (child.ns == AIRETOUCH and child.name in OWN_FIELDS):
                    out[(child.ns, child.name)] = property_value(child, child.ns)
        return out

    before, after = foreign(original), foreign(merged)
    return [] if before == after else ["properties of other namespaces changed"]


def _write(target: Path, data: bytes, original: bytes | None) -> Path | None:
    """Back up the current file (when merging into it), then replace it atomically; returns the backup."""
    folder = target.parent
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None  # new files: the umask decides
    try:
        backup = _backup(target, original) if original is not None else None
        if original is not None and target.read_bytes() != original:
            raise SidecarConflictError("the sidecar changed while it was being merged (another program is "
                                       "writing it); nothing was written, try again", path=str(target))
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
            if mode is not None:
                os.chmod(tmp, mode)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise PermissionDeniedError(f"cannot write the sidecar {target}: the folder {folder} is not writable "
                                        f"({exc.strerror}); nothing was changed", path=str(target)) from None
        raise
    return backup


def _backup(target: Path, original: bytes) -> Path:
    """Keep a copy of the current sidecar in .airetouch-backup/ (the last few per sidecar)."""
    folder = target.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    backup = folder / f"{target.name}.{stamp}.bak"
    with atomic_path(backup) as tmp:
        tmp.write_bytes(original)
    old = sorted(folder.glob(f"{target.name}.*.bak"))
    for stale in old[:-BACKUPS_KEPT]:
        stale.unlink(missing_ok=True)
    return backup
