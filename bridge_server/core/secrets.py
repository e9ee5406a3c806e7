"""Secrets on this machine: the OS keyring where a real backend exists, and private (0600) files.

The bridge token and an instruction endpoint's API key both live here, so the rules are written once: never a
file readable by others, atomic writes, and a broken or headless keyring never stops the bridge.
"""
from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from .paths import ensure

log = logging.getLogger(__name__)
SERVICE = "airetouch"


def usable_keyring():
    """The keyring backend when a real one exists (not the null or failing backends), else None."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring configuration must not stop the bridge
        log.warning("the OS keyring could not be loaded; secrets are kept in private files")
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    return backend


def keyring_get(name: str, backend=None) -> str | None:
    """The secret stored under `name`, or None (no keyring, nothing stored, or the keyring refused)."""
    backend = backend if backend is not None else usable_keyring()
    if backend is None:
        return None
    try:
        return backend.get_password(SERVICE, name) or None
    except Exception as exc:  # noqa: BLE001 - locked or headless keyrings raise assorted errors
        log.warning("could not read %s from the keyring (%s)", name, exc)
        return None


def keyring_set(name: str, value: str, backend=None) -> bool:
    """Store a secret; True when the keyring now holds exactly this value."""
    backend = backend if backend is not None else usable_keyring()
    if backend is None:
        return False
    try:
        if backend.get_password(SERVICE, name) != value:
            backend.set_password(SERVICE, name, value)
        return backend.get_password(SERVICE, name) == value
    except Exception as exc:  # noqa: BLE001
        log.warning("could not store %s in the keyring (%s); it is kept in a private file", name, exc)
        return False


def keyring_delete(name: str) -> None:
    backend = usable_keyring()
    if backend is None:
        return
    try:
        backend.delete_password(SERVICE, name)
    except Exception:  # noqa: BLE001 - not stored there, or no access: nothing else to do
        pass


def write_private(path: Path, text: str) -> None:
    """Atomically write `text` to a file of mode 0600 in a 0700 folder (never readable by others)."""
    ensure(path.parent, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_private(path: Path) -> str | None:
    """The stripped text of a private file (tightened to 0600 if others could read it), or None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s is readable by others (mode %o); restricting it to 0600", path, mode)
            os.chmod(path, 0o600)
        return path.read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    except OSError as exc:
        log.warning("could not read %s (%s)", path, exc.strerror)
        return None


def file_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
