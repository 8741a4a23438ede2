"""Suite-wide set-up: real services started once, and an isolated profile for every test.

The virtual audio server starts in ``pytest_configure`` (before any test module imports
sounddevice, which enumerates devices once at import), so audio tests open real streams.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import SecretService, VirtualAudio, Xvfb, reset_keyring_backend

_audio: VirtualAudio | None = None
_profile: str | None = None  # the suite-wide profile folder, removed at the end


def pytest_configure(config: pytest.Config) -> None:
    global _audio, _profile
    os.environ.pop("OPENAI_API_VERSION", None)  # the plugin would switch to the preview protocol
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_KEY"):
        os.environ.pop(name, None)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Every simulator in the suite checks each event against openai's official models.
    os.environ["AZASSIST_SIMULATOR_STRICT"] = "1"
    # A profile no test shares with the real user; tests that need their own use `config_dir`.
    _profile = tempfile.mkdtemp(prefix="azassist-suite-")
    os.environ["AZASSIST_CONFIG_DIR"] = _profile
    if os.environ.get("AZASSIST_TEST_AUDIO", "1") != "0" and _audio is None:
        _audio = VirtualAudio.start()
        os.environ.update(_audio.env)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _audio, _profile
    if _audio is not None:
        _audio.stop()
        _audio = None
    if _profile is not None:
        shutil.rmtree(_profile, ignore_errors=True)
        _profile = None


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, private azassist profile (settings, logs, conversations) for one test."""
    directory = tmp_path / "profile"
    directory.mkdir()
    monkeypatch.setenv("AZASSIST_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture
def virtual_audio() -> VirtualAudio:
    """The suite's virtual audio server (speaker sink ``spk``, microphone feed sink ``mic``)."""
    if _audio is None:
        pytest.fail("virtual audio server is not running (AZASSIST_TEST_AUDIO=0?)")
    return _audio


@pytest.fixture
def secret_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    """A real, unlocked Secret Service on a private session bus."""
    service = SecretService.start(unlock=True)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.bus_address)
    reset_keyring_backend()
    yield service
    service.stop()
    reset_keyring_backend()


@pytest.fixture
def locked_secret_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    """A Secret Service whose login keyring is locked (or missing): writes need a prompt."""
    service = SecretService.start(unlock=False)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.bus_address)
    reset_keyring_backend()
    yield service
    service.stop()
    reset_keyring_backend()


@pytest.fixture
def no_session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No D-Bus at all: keyring finds no usable backend."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent/azassist-no-bus")  # no bus socket there either
    reset_keyring_backend()
    yield
    reset_keyring_backend()


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """A real X server for tests that need a real window (screenshots)."""
    server = Xvfb.start()
    yield server.display
    server.stop()
