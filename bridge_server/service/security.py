"""The bearer token (created once, kept in the OS keyring and in a 0600 file) and the Host and Origin checks.

The Lightroom plugin cannot reach the keyring, so the token is always also written to `<config>/token`; the
keyring copy, where a real backend exists, is the reference and the file is kept in step with it.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..core.paths import config_dir
from ..core.secrets import file_mode, keyring_get, keyring_set, read_private, usable_keyring, write_private

log = logging.getLogger(__name__)

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
    backend = usable_keyring()
    token = keyring_get(KEYRING_NAME, backend)
    from_file = read_private(path)
    created = False
    if not token:
        token = from_file
    if not token:
        token, created = new_token(), True
    if from_file != token or file_mode(path) != 0o600:
        write_token_file(path, token)
    in_keyring = keyring_set(KEYRING_NAME, token, backend)
    return TokenInfo(token, path, in_keyring, created)


def rotate_token(path: Path | None = None) -> TokenInfo:
    """Replace the token everywhere (a running server keeps the old one until it restarts)."""
    path = path or token_path()
    token = new_token()
    write_token_file(path, token)
    return TokenInfo(token, path, keyring_set(KEYRING_NAME, token), True)


def write_token_file(path: Path, token: str) -> None:
    """Atomically write the token with mode 0600 in a 0700 folder (the file is never readable by others)."""
    write_private(path, token + "\n")


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
