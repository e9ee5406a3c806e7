"""Endpoint settings (a JSON file in the config folder) and the API key (OS keyring, else a 0600 file)."""
from __future__ import annotations

import json
import os
import stat

import keyring
import pytest

from bridge_server.core.secrets import usable_keyring

from bridge_server.core.paths import config_dir
from bridge_server.retouch import settings as st
from bridge_server.retouch.settings import LLMSettings, SettingsError


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)




def test_defaults_are_off_and_keep_the_photo_local():
    s = st.load_settings()
    assert s == LLMSettings() and not s.configured and not s.send_photo
    assert not st.settings_path().exists()


def test_settings_round_trip_through_a_private_file_in_the_config_folder():
    s = LLMSettings(enabled=True, base_url="http://127.0.0.1:11434/v1", model="llama3.2", timeout_s=5)
    path = st.save_settings(s)
    assert path.parent == config_dir() and mode(path) == 0o600
    assert st.load_settings() == s and s.configured and s.is_local
    assert "key" not in json.loads(path.read_text())


@pytest.mark.parametrize("change, words", [
    ({"base_url": "ftp://example.org/v1"}, "http:// or https://"),
    ({"base_url": "http://user:pw@example.org/v1"}, "user name or password"),
    ({"timeout_s": 0}, "timeout_s"),
    ({"timeout_s": 1000}, "timeout_s"),
    ({"max_response_bytes": 10}, "max_response_bytes"),
    ({"send_photo": "yes"}, "true or false"),
    ({"colour": "blue"}, "unknown setting"),
])
def test_malformed_settings_are_refused_with_the_field_named(change, words):
    data = {**LLMSettings().to_dict(), **change}
    with pytest.raises(SettingsError, match=words):
        LLMSettings.from_dict(data)


def test_an_unreadable_settings_file_is_an_error_naming_the_file():
    path = st.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(SettingsError, match="not valid JSON") as info:
        st.load_settings()
    assert str(path) in str(info.value)


def test_without_a_keyring_backend_the_key_goes_to_a_0600_file():
    assert usable_keyring() is None  # the tests run with keyring's null backend, like a headless Linux
    assert st.get_api_key() is None
    assert st.set_api_key("  sk-test-123 \n") == "file"
    assert mode(st.key_path()) == 0o600 and st.key_path().parent == config_dir()
    assert st.get_api_key() == "sk-test-123"
    st.delete_api_key()
    assert st.get_api_key() is None and not st.key_path().exists()


def test_a_key_file_readable_by_others_is_tightened():
    st.set_api_key("sk-abc")
    os.chmod(st.key_path(), 0o644)
    assert st.get_api_key() == "sk-abc"
    assert mode(st.key_path()) == 0o600


def test_with_a_keyring_the_key_lives_there_and_not_in_a_file(memory_keyring):
    st.key_path().parent.mkdir(parents=True, exist_ok=True)
    st.key_path().write_text("old-key\n")
    assert st.set_api_key("sk-keyring") == "keyring"
    assert memory_keyring.items[("airetouch", "llm-api-key")] == "sk-keyring"
    assert not st.key_path().exists()
    assert st.get_api_key() == "sk-keyring"
    st.delete_api_key()
    assert memory_keyring.items == {}


def test_a_key_must_be_one_line():
    with pytest.raises(SettingsError):
        st.set_api_key("a\nb")
    with pytest.raises(SettingsError):
        st.set_api_key("   ")
