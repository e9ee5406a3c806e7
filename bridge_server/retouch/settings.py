"""Settings of the optional language-model endpoint that reads instructions (see `llm.py`).

The settings live in `<config>/llm.json` (written atomically, mode 0600); the API key lives in the OS keyring
(service "airetouch", name "llm-api-key") and, where no keyring backend exists (a headless Linux), in
`<config>/llm-api-key`, mode 0600. The key never appears in the settings file or in `to_dict()`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from ..core.paths import config_dir
from ..core.secrets import keyring_delete, keyring_get, keyring_set, read_private, write_private

log = logging.getLogger(__name__)

SETTINGS_FILE = "llm.json"
KEY_FILE = "llm-api-key"
KEYRING_NAME = "llm-api-key"

MAX_TIMEOUT_S = 120.0
MIN_RESPONSE_BYTES, MAX_RESPONSE_BYTES = 1024, 4 * 1024 * 1024


class SettingsError(ValueError):
    """The endpoint settings are malformed; the message says which field and why."""


@dataclass
class LLMSettings:
    """Where the OpenAI-compatible chat endpoint is and how to talk to it.

    `base_url` is the API root that `/chat/completions` is appended to, e.g. http://127.0.0.1:11434/v1
    (Ollama), http://127.0.0.1:1234/v1 (LM Studio), http://127.0.0.1:8080/v1 (llama.cpp server) or a cloud
    one. `send_photo`: whether the working image may be sent with the instruction (off by default: photos
    stay on this machine unless the photographer allows it). `json_mode`: ask for `response_format`
    json_object (some servers reject it; the answer is validated either way).
    """

    enabled: bool = False
    base_url: str = ""
    model: str = ""
    timeout_s: float = 20.0
    send_photo: bool = False
    max_response_bytes: int = 256 * 1024
    json_mode: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.enabled and self.base_url and self.model)

    @property
    def is_local(self) -> bool:
        host = (urlsplit(self.base_url).hostname or "").lower()
        return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")

    def validate(self) -> "LLMSettings":
        if not isinstance(self.enabled, bool) or not isinstance(self.send_photo, bool) or not isinstance(
                self.json_mode, bool):
            raise SettingsError("enabled, send_photo and json_mode must be true or false")
        if not isinstance(self.base_url, str) or not isinstance(self.model, str):
            raise SettingsError("base_url and model must be text")
        if self.base_url:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SettingsError(f"base_url must be an http:// or https:// address, not {self.base_url!r}")
            if parts.username or parts.password:
                raise SettingsError("base_url must not hold a user name or password; the API key is kept in "
                                    "the keyring (see set_api_key)")
        if len(self.model) > 200:
            raise SettingsError("model name is too long")
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, (int, float)) or not (
                0 < self.timeout_s <= MAX_TIMEOUT_S):
            raise SettingsError(f"timeout_s must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]")
        if isinstance(self.max_response_bytes, bool) or not isinstance(self.max_response_bytes, int) or not (
                MIN_RESPONSE_BYTES <= self.max_response_bytes <= MAX_RESPONSE_BYTES):
            raise SettingsError(f"max_response_bytes must be an integer in {MIN_RESPONSE_BYTES}.."
                                f"{MAX_RESPONSE_BYTES}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> "LLMSettings":
        if not isinstance(data, dict):
            raise SettingsError("the endpoint settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))} (known: "
                                f"{', '.join(sorted(known))})")
        return cls(**data).validate()


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> LLMSettings:
    """The saved settings, or the defaults (disabled) when there is no file. Malformed: SettingsError."""
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LLMSettings()
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    try:
        return LLMSettings.from_dict(data)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None


def save_settings(settings: LLMSettings, path: Path | None = None) -> Path:
    """Validate and write the settings atomically (0600, in a 0700 folder)."""
    settings.validate()
    path = path or settings_path()
    write_private(path, json.dumps(settings.to_dict(), indent=2) + "\n")
    return path


def key_path() -> Path:
    return config_dir() / KEY_FILE


def get_api_key() -> str | None:
    """The endpoint's API key: from the keyring, else from the 0600 file; None when none is stored."""
    return keyring_get(KEYRING_NAME) or read_private(key_path())


def set_api_key(key: str) -> str:
    """Store the key: in the keyring where possible ("keyring"), else in a 0600 file ("file")."""
    key = key.strip()
    if not key or any(ch in key for ch in "\r\n\0"):
        raise SettingsError("an API key must be one line of text")
    if keyring_set(KEYRING_NAME, key):
        key_path().unlink(missing_ok=True)  # no stale copy outside the keyring
        return "keyring"
    write_private(key_path(), key + "\n")
    return "file"


def delete_api_key() -> None:
    """Remove the key from the keyring and the file (whichever hold it)."""
    keyring_delete(KEYRING_NAME)
    key_path().unlink(missing_ok=True)
