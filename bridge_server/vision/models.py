"""The vision models: which .tflite files we use, where they live, how they are provisioned and checked.

The files come from the PyPI wheel of `mediapipe==0.10.21` (Apache-2.0), the last release that bundles them.
We never install that package (it pins NumPy < 2): `fetch()` downloads the wheel with pip (or takes a local
wheel), extracts the six models, checks each against the pinned SHA-256 below and writes it atomically into
`models_dir()`. At run time nothing is downloaded: `model_path()` returns a verified file or None, and the
callers fall back (Haar faces, heuristic person regions) and say so.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import RetouchError
from ..core.paths import data_dir
from ..imaging.atomic import sha256_file

MEDIAPIPE_VERSION = "0.10.21"
WHEEL_PLATFORM = "manylinux_2_28_x86_64"  # the same files on every OS: the models are platform independent
WHEEL_PYTHON = "3.11"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    zip_path: str
    sha256: str
    size: int
    purpose: str


_MP = "mediapipe/modules/"
MODELS: dict[str, ModelSpec] = {
    spec.name: spec for spec in (
        ModelSpec("face_detection_short_range", _MP + "face_detection/face_detection_short_range.tflite",
                  "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8", 229714,
                  "BlazeFace short range, 128x128, faces within ~2 m"),
        ModelSpec("face_detection_full_range_sparse",
                  _MP + "face_detection/face_detection_full_range_sparse.tflite",
                  "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1", 676746,
                  "BlazeFace full range, 192x192, faces within ~5 m"),
        ModelSpec("face_landmark", _MP + "face_landmark/face_landmark.tflite",
                  "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814", 1242398,
                  "face mesh, 468 landmarks from a 192x192 face crop"),
        ModelSpec("iris_landmark", _MP + "iris_landmark/iris_landmark.tflite",
                  "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f", 2640568,
                  "iris and eye contour from a 64x64 eye crop"),
        ModelSpec("selfie_segmentation", _MP + "selfie_segmentation/selfie_segmentation.tflite",
                  "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c", 249505,
                  "person segmentation, 256x256"),
        ModelSpec("selfie_segmentation_landscape",
                  _MP + "selfie_segmentation/selfie_segmentation_landscape.tflite",
                  "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd", 250145,
                  "person segmentation, 144x256 (landscape)"),
    )
}


class ModelFetchError(RetouchError):
    code = "model_fetch_failed"
    http_status = 502


def models_dir() -> Path:
    """AIRETOUCH_MODELS_DIR when set, else <data dir>/models."""
    env = os.environ.get("AIRETOUCH_MODELS_DIR")
    return Path(env) if env else data_dir() / "models"


def _file_name(name: str) -> str:
    return name + ".tflite"


# (path, size, mtime_ns) -> verified; a file is hashed once per process unless it changes on disk.
_verified: dict[tuple[str, int, int], bool] = {}
_verified_lock = threading.Lock()


def _verify(name: str, path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _verified_lock:
        if key in _verified:
            return _verified[key]
    spec = MODELS[name]
    ok = st.st_size == spec.size and sha256_file(path) == spec.sha256
    with _verified_lock:
        _verified[key] = ok
    return ok


def model_path(name: str) -> Path | None:
    """The verified file of model `name`, or None when it is missing or its checksum is wrong."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    path = models_dir() / _file_name(name)
    return path if path.is_file() and _verify(name, path) else None


def status() -> list[dict]:
    """One entry per model: name, path, present, verified, size (bytes on disk, None when absent)."""
    out = []
    for name in MODELS:
        path = models_dir() / _file_name(name)
        present = path.is_file()
        out.append({
            "name": name,
            "path": str(path),
            "present": present,
            "verified": present and _verify(name, path),
            "size": path.stat().st_size if present else None,
        })
    return out


def _download_wheel(tmp: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--platform", WHEEL_PLATFORM, "--python-version", WHEEL_PYTHON, "--implementation", "cp",
           f"mediapipe=={MEDIAPIPE_VERSION}", "-d", str(tmp), "--quiet", "--disable-pip-version-check"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelFetchError(f"pip download of mediapipe=={MEDIAPIPE_VERSION} failed: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelFetchError(f"pip download of mediapipe=={MEDIAPIPE_VERSION} failed: {' / '.join(tail)}")
    wheels = sorted(tmp.glob("mediapipe-*.whl"))
    if not wheels:
        raise ModelFetchError("pip download finished but left no mediapipe wheel")
    return wheels[0]


def _write_atomic(dest: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix="." + dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, dest)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


def fetch(dest: Path | str | None = None, wheel: Path | str | None = None) -> list[dict]:
    """Provision the models into `dest` (default models_dir()) from the mediapipe wheel; returns status().

    Files already present and verified are kept. Every extracted file is checked against the pinned SHA-256
    before it replaces anything; a mismatch raises ModelFetchError and leaves the folder as it was.
    """
    dest = Path(dest) if dest is not None else models_dir()
    dest.mkdir(parents=True, exist_ok=True)
    missing = [n for n in MODELS if not (dest / _file_name(n)).is_file() or not _verify(n, dest / _file_name(n))]
    if missing:
        with tempfile.TemporaryDirectory(prefix="airetouch-models-") as tmp:
            whl = Path(wheel) if wheel is not None else _download_wheel(Path(tmp))
            try:
                zf = zipfile.ZipFile(whl)
            except (OSError, zipfile.BadZipFile) as exc:
                raise ModelFetchError(f"cannot open wheel {whl}: {exc}") from exc
            blobs = {}
            with zf:
                for name in missing:
                    spec = MODELS[name]
                    try:
                        data = zf.read(spec.zip_path)
                    except KeyError as exc:
                        raise ModelFetchError(f"{whl.name} has no {spec.zip_path}") from exc
                    digest = hashlib.sha256(data).hexdigest()
                    if digest != spec.sha256:
                        raise ModelFetchError(f"{spec.zip_path}: sha256 {digest} does not match the pinned "
                                              f"{spec.sha256}")
                    blobs[name] = data
            for name, data in blobs.items():
                _write_atomic(dest / _file_name(name), data)
    old = os.environ.get("AIRETOUCH_MODELS_DIR")
    os.environ["AIRETOUCH_MODELS_DIR"] = str(dest)
    try:
        return status()
    finally:
        if old is None:
            del os.environ["AIRETOUCH_MODELS_DIR"]
        else:
            os.environ["AIRETOUCH_MODELS_DIR"] = old


def main(argv: list[str] | None = None) -> int:
    """`python -m bridge_server.vision.models [--dest DIR] [--wheel PATH] [--status]`: provision or report."""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m bridge_server.vision.models", description=main.__doc__)
    ap.add_argument("--dest", help="folder for the models (default: AIRETOUCH_MODELS_DIR or <data>/models)")
    ap.add_argument("--wheel", help=f"a local mediapipe=={MEDIAPIPE_VERSION} wheel instead of pip download")
    ap.add_argument("--status", action="store_true", help="only report what is there")
    args = ap.parse_args(argv)
    if args.status:
        if args.dest:
            os.environ["AIRETOUCH_MODELS_DIR"] = args.dest
        rows = status()
    else:
        try:
            rows = fetch(args.dest, args.wheel)
        except ModelFetchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(rows, indent=2))
    return 0 if all(r["verified"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
