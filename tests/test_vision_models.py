"""The vision models: table, provisioning from a (local) wheel, checksum verification, the litert runtime."""
from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bridge_server.core.paths import data_dir
from bridge_server.vision import models, runtime


def _provisioned() -> Path:
    missing = [n for n in models.MODELS if models.model_path(n) is None]
    if missing:
        pytest.skip(f"vision models not provisioned in {models.models_dir()} "
                    "(python -m bridge_server.vision.models)")
    return models.models_dir()


@pytest.fixture
def fake_wheel(tmp_path) -> Path:
    """A zip laid out like the mediapipe wheel, holding the provisioned models (no network needed)."""
    src = _provisioned()
    whl = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        for name, spec in models.MODELS.items():
            zf.write(src / f"{name}.tflite", spec.zip_path)
    return whl


def test_table_is_pinned():
    assert set(models.MODELS) == {
        "face_detection_short_range", "face_detection_full_range_sparse", "face_landmark", "iris_landmark",
        "selfie_segmentation", "selfie_segmentation_landscape"}
    for spec in models.MODELS.values():
        assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.zip_path.startswith("mediapipe/modules/") and spec.zip_path.endswith(".tflite")
        assert spec.size > 100_000


def test_models_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path / "m"))
    assert models.models_dir() == tmp_path / "m"
    monkeypatch.delenv("AIRETOUCH_MODELS_DIR")
    assert models.models_dir() == data_dir() / "models"


def test_status_of_provisioned_models():
    _provisioned()
    rows = models.status()
    assert [r["name"] for r in rows] == list(models.MODELS)
    for r in rows:
        assert r["present"] and r["verified"], r
        assert r["size"] == models.MODELS[r["name"]].size
        assert models.model_path(r["name"]) == Path(r["path"])


def test_empty_dir_reports_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path))
    rows = models.status()
    assert all(not r["present"] and not r["verified"] and r["size"] is None for r in rows)
    assert models.model_path("face_landmark") is None
    assert runtime.load("face_landmark") is None
    assert "missing" in runtime.load_reason("face_landmark")
    with pytest.raises(KeyError):
        models.model_path("no_such_model")


def test_corrupted_copy_fails_verification(monkeypatch, tmp_path):
    src = _provisioned()
    for name in models.MODELS:
        shutil.copy(src / f"{name}.tflite", tmp_path / f"{name}.tflite")
    bad = tmp_path / "face_landmark.tflite"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    bad.write_bytes(bytes(data))
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path))
    rows = {r["name"]: r for r in models.status()}
    assert rows["face_landmark"]["present"] and not rows["face_landmark"]["verified"]
    assert models.model_path("face_landmark") is None
    assert runtime.load("face_landmark") is None
    assert models.model_path("selfie_segmentation") == tmp_path / "selfie_segmentation.tflite"
    # a truncated file too
    (tmp_path / "iris_landmark.tflite").write_bytes(b"\0" * 100)
    assert models.model_path("iris_landmark") is None


def test_fetch_from_local_wheel(tmp_path, fake_wheel):
    dest = tmp_path / "models"
    rows = models.fetch(dest, wheel=fake_wheel)
    assert all(r["verified"] for r in rows)
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{n}.tflite" for n in models.MODELS)
    # a second run keeps the verified files and does not need the wheel
    before = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    models.fetch(dest, wheel=tmp_path / "absent.whl")
    assert before == {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}


def test_fetch_rejects_a_wheel_with_a_wrong_model(tmp_path, fake_wheel):
    tampered = tmp_path / "tampered.whl"
    with zipfile.ZipFile(fake_wheel) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("selfie_segmentation.tflite"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(info, data)
    dest = tmp_path / "models"
    with pytest.raises(models.ModelFetchError, match="sha256"):
        models.fetch(dest, wheel=tampered)
    assert not any(p.suffix == ".tflite" for p in dest.iterdir())  # nothing half-written


def test_fetch_downloads_the_pinned_wheel_for_one_platform(monkeypatch, tmp_path, fake_wheel):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        out = Path(cmd[cmd.index("-d") + 1])
        shutil.copy(fake_wheel, out / fake_wheel.name)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(models.subprocess, "run", fake_run)
    rows = models.fetch(tmp_path / "models")
    assert all(r["verified"] for r in rows)
    (cmd,) = calls
    assert cmd[1:4] == ["-m", "pip", "download"]
    for flag in ("--no-deps", "--only-binary=:all:", "mediapipe==0.10.21"):
        assert flag in cmd
    assert cmd[cmd.index("--platform") + 1] == "manylinux_2_28_x86_64"
    assert cmd[cmd.index("--python-version") + 1] == "3.11"
    assert cmd[cmd.index("--implementation") + 1] == "cp"


def test_fetch_reports_a_failed_download(monkeypatch, tmp_path):
    monkeypatch.setattr(models.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution"))
    with pytest.raises(models.ModelFetchError, match="No matching distribution"):
        models.fetch(tmp_path / "models")


def test_runtime_runs_every_model():
    _provisioned()
    for name in models.MODELS:
        m = runtime.load(name)
        assert m is not None, runtime.load_reason(name)
        assert runtime.load(name) is m  # shared and kept warm
        shape = m.input_shape
        outs = m.run(np.zeros(shape[1:], np.float32))
        assert [o.shape for o in outs] == m.output_shapes
        assert all(np.isfinite(o).all() for o in outs)
    with pytest.raises(ValueError, match="input shape"):
        runtime.load("face_landmark").run(np.zeros((10, 10, 3), np.float32))
    assert runtime.load("face_detection_short_range").input_shape == (1, 128, 128, 3)
    assert runtime.load("face_detection_full_range_sparse").output_shapes == [(1, 2304, 16), (1, 2304, 1)]
