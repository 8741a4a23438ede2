"""API keys in a real Secret Service, every keyring failure in plain words, no secret on disk."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from azassist.core.credentials import CredentialError, CredentialStore
from azassist.core.logs import setup_logging
from azassist.core.paths import resolve_paths
from azassist.core.secrets import Secret
from azassist.core.settings import Settings, SettingsStore, with_value

KEY = "0123456789abcdef0123456789abcdef"


def test_round_trip_on_a_real_secret_service(secret_service: object) -> None:
    store = CredentialStore(service="azassist-test")
    assert "Secret Service" in store.backend_name()
    assert store.get_api_key("res.openai.azure.com") is None
    store.set_api_key("res.openai.azure.com", Secret(KEY))
    store.set_api_key("other.openai.azure.com", Secret("another-key-value"))
    fresh = CredentialStore(service="azassist-test")  # nothing cached in memory
    assert fresh.get_api_key("res.openai.azure.com") == Secret(KEY)
    assert fresh.get_api_key("other.openai.azure.com") == Secret("another-key-value")
    fresh.delete_api_key("res.openai.azure.com")
    assert fresh.get_api_key("res.openai.azure.com") is None
    fresh.delete_api_key("res.openai.azure.com")  # deleting twice is fine


def test_no_keyring_at_all_says_what_to_install(no_session_bus: None) -> None:
    store = CredentialStore(service="azassist-test")
    assert store.backend_name() == "none available" or "Secret Service" in store.backend_name()
    with pytest.raises(CredentialError) as caught:
        store.set_api_key("res.openai.azure.com", Secret(KEY))
    assert "keyring" in caught.value.message
    assert KEY not in caught.value.message and KEY not in caught.value.detail


def test_locked_keyring_gives_a_plain_message_and_memory_works(locked_secret_service: object) -> None:
    store = CredentialStore(service="azassist-test")
    with pytest.raises(CredentialError) as caught:
        store.set_api_key("res.openai.azure.com", Secret(KEY))
    message = caught.value.message
    assert "locked" in message or "dismissed" in message or "unlock" in message.lower()
    # The user can still go on with the key for this run only.
    store.use_for_this_run("res.openai.azure.com", Secret(KEY))
    assert store.get_api_key("res.openai.azure.com") == Secret(KEY)


def test_secret_never_shows_in_repr_or_format() -> None:
    secret = Secret(KEY)
    assert KEY not in repr(secret) and KEY not in str(secret) and KEY not in f"{secret}"
    assert KEY not in repr({"key": secret})


def test_no_secret_in_any_file_after_saving_settings_and_key(
    secret_service: object, config_dir: Path
) -> None:
    paths = resolve_paths().ensure()
    handler = setup_logging(paths, "DEBUG")
    try:
        store = CredentialStore(service="azassist-test")
        store.set_api_key("res.openai.azure.com", Secret(KEY))
        settings = with_value(Settings(), "connection", "endpoint", "https://res.openai.azure.com")
        SettingsStore(paths.settings_file).save(settings)
        log = logging.getLogger("azassist.test")
        log.info("connecting with api-key: %s", KEY)
        log.info("headers {'api-key': '%s'}", KEY)
        try:
            raise RuntimeError(f"server said bad key {KEY}")
        except RuntimeError:
            log.exception("failure")
        handler.flush()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    scanned = 0
    for path in config_dir.rglob("*"):
        if path.is_file():
            scanned += 1
            assert KEY.encode() not in path.read_bytes(), f"secret leaked into {path}"
    assert scanned >= 2
    assert "***" in paths.log_file.read_text()
