"""Run the .tflite vision models with ai-edge-litert: one lazily loaded interpreter per model, kept warm.

`load(name)` returns a shared `Model`, or None when the file is missing, fails its checksum or does not
load; `load_reason(name)` then says why (for notes and /v1/health). An interpreter is not re-entrant, so each
`Model` serialises its invocations with a lock; different models run in parallel.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from . import models

_NUM_THREADS = max(1, min(2, os.cpu_count() or 1))


class ModelUnavailable(RuntimeError):
    pass


class Model:
    """One litert Interpreter. `run(array)` -> list of output arrays, in the model's output order."""

    def __init__(self, name: str, path: Path | None = None):
        self.name = name
        self.path = Path(path) if path is not None else models.model_path(name)
        if self.path is None:
            raise ModelUnavailable(f"model {name} is missing or fails its checksum in {models.models_dir()}")
        self._interp = None
        self._lock = threading.Lock()
        self._in = None
        self._outs: list[dict] = []

    def _ensure(self):
        if self._interp is None:
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError as exc:  # pragma: no cover - the runtime is a hard dependency
                raise ModelUnavailable(f"ai-edge-litert is not installed: {exc}") from exc
            try:
                interp = Interpreter(model_path=str(self.path), num_threads=_NUM_THREADS)
                interp.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise ModelUnavailable(f"model {self.name} does not load: {exc}") from exc
            self._in = interp.get_input_details()[0]
            self._outs = interp.get_output_details()
            self._interp = interp
        return self._interp

    @property
    def input_shape(self) -> tuple[int, ...]:
        with self._lock:
            self._ensure()
            return tuple(int(v) for v in self._in["shape"])

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        with self._lock:
            self._ensure()
            return [tuple(int(v) for v in d["shape"]) for d in self._outs]

    def run(self, array: np.ndarray) -> list[np.ndarray]:
        """Invoke on one input (HxWxC or 1xHxWxC float32); returns copies of every output."""
        with self._lock:
            interp = self._ensure()
            shape = tuple(self._in["shape"])
            x = np.asarray(array, dtype=np.float32)
            if x.ndim == len(shape) - 1:
                x = x[None]
            if x.shape != shape:
                raise ValueError(f"{self.name}: input shape {x.shape}, expected {shape}")
            interp.set_tensor(self._in["index"], np.ascontiguousarray(x))
            interp.invoke()
            return [interp.get_tensor(d["index"]).copy() for d in self._outs]


_cache: dict[tuple[str, str], Model] = {}
_reasons: dict[str, str] = {}
_cache_lock = threading.Lock()


def load(name: str) -> Model | None:
    """The shared, loaded Model for `name`, or None (see load_reason) when it cannot be used."""
    path = models.model_path(name)
    if path is None:
        _reasons[name] = f"model {name} is missing or fails its checksum in {models.models_dir()}"
        return None
    key = (name, str(path))
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            model = Model(name, path)
            try:
                model._ensure()
            except ModelUnavailable as exc:
                _reasons[name] = str(exc)
                return None
            _cache[key] = model
    _reasons.pop(name, None)
    return model


def load_reason(name: str) -> str | None:
    """Why the last load(name) returned None; None after a successful load."""
    return _reasons.get(name)


def clear() -> None:
    """Forget the loaded interpreters (tests, or after re-provisioning)."""
    with _cache_lock:
        _cache.clear()
        _reasons.clear()
