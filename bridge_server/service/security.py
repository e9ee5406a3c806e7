"""The bearer token (created once, kept in the OS keyring and in a 0600 file) and the Host and Origin checks.

The Lightroom plugin cannot reach the keyring, so the token is always also written to `<config>/token`; the
keyring copy, where a real backend exists, is the reference and the file is kept in step with it.
"""
from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..core.paths import config_dir, ensure

log = logging.getLogger(__name__)

KEYRING_SERVICE = "airetouch"
KEYRING_NAME = "bridge-token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def token_path() -> Path:
    return config_dir() / "token"


@dataclass(frozen=True)
class TokenInfo:
    token: str
    file: Path
    in_keyring: bool
    created: bool


def new_token() -> str:
    """32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def load_or_create_token(path: Path | None = None) -> TokenInfo:
    """The stored token (keyring first, then the file), or a new one; both stores end up holding it."""
    path = path or token_path()
    backend = _keyring()
    token = _keyring_get(backend)
    from_file = _read_token_file(path)
    created = False
    if not token:
        token = from_file
    if not token:
        token, created = new_token(), True
    if from_file != token or _mode(path) != 0o600:
        write_token_file(path, token)
    in_keyring = _keyring_set(backend, token) if backend is not None else False
    return TokenInfo(token, path, in_keyring, created)


def rotate_token(path: Path | None = None) -> TokenInfo:
    """Replace the token everywhere (a running server keeps the old one until it restarts)."""
    path = path or token_path()
    token = new_token()
    write_token_file(path, token)
    backend = _keyring()
    in_keyring = _keyring_set(backend, token) if backend is not None else False
    return TokenInfo(token, path, in_keyring, True)


def write_token_file(path: Path, token: str) -> None:
    """Atomically write the token with mode 0600 in a 0700 folder (the file is never readable by others)."""
    ensure(path.parent, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".token-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(token + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_token_file(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return text or None


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def _keyring():
    """The keyring backend when a real one exists (not the null or failing backends), else None."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring configuration must not stop the server
        log.warning("the OS keyring could not be loaded; the token is kept in the token file only")
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    return backend


def _keyring_get(backend) -> str | None:
    if backend is None:
        return None
    try:
        return backend.get_password(KEYRING_SERVICE, KEYRING_NAME) or None
    except Exception as exc:  # noqa: BLE001 - locked or headless keyrings raise assorted errors
        log.warning("could not read the token from the keyring (%s); using the token file", exc)
        return None


def _keyring_set(backend, token: str) -> bool:
    try:
        if backend.get_password(KEYRING_SERVICE, KEYRING_NAME) != token:
            backend.set_password(KEYRING_SERVICE, KEYRING_NAME, token)
        return backend.get_password(KEYRING_SERVICE, KEYRING_NAME) == token
    except Exception as exc:  # noqa: BLE001
        log.warning("could not store the token in the keyring (%s); it is in the token file only", exc)
        return False


def token_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    if not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def split_host(value: str) -> tuple[str, str | None]:
    """`[::1]:8765` -> ("::1", "8765"); `localhost` -> ("localhost", None)."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        host, rest = value[1:end], value[end + 1:]
        if not rest:
            return host, None
        return (host, rest[1:]) if rest.startswith(":") else (value, None)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, port
    return value, None


def host_allowed(host_header: str | None, port: int | None, extra_hosts: frozenset[str] = frozenset()) -> bool:
    """Only loopback names (plus any explicitly allowed host), with no port or our own port."""
    if not host_header:
        return False
    host, given_port = split_host(host_header)
    if host.lower() not in LOOPBACK_NAMES and host.lower() not in extra_hosts:
        return False
    if given_port is None:
        return True
    return given_port.isdigit() and (port is None or int(given_port) == port)


def origin_allowed(origin: str | None, extra_hosts: frozenset[str] = frozenset()) -> bool:
    """No Origin header (not a browser), or a page served from a loopback host."""
    if origin is None:
        return True
    try:
        parts = urlsplit(origin.strip())
        hostname = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    return hostname in LOOPBACK_NAMES or hostname in extra_hosts
