"""Fixtures for Entra ID: a local HTTPS authority the real azure-identity talks to, a headless
browser (``BROWSER``), and providers configured for that authority."""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from azassist.core.entra import EntraConfig, EntraTokenProvider
from azassist.core.settings import SignInMethod

from .fake_authority import FakeAuthority

BROWSER_SCRIPT = Path(__file__).with_name("browser.py")
MakeProvider = Callable[..., EntraTokenProvider]


@pytest.fixture(scope="session", autouse=True)
def _headless_browser() -> None:
    """``BROWSER`` for child processes; registered in this process too (webbrowser reads
    ``BROWSER`` only once, and another test may have used it first)."""
    webbrowser.register("azassist-test", None, webbrowser.GenericBrowser([sys.executable, str(BROWSER_SCRIPT), "%s"]), preferred=True)


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAuthority]:
    fake = FakeAuthority(tmp_path / "authority").start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_path))  # what azure-core's requests transport trusts
    monkeypatch.setenv("AZASSIST_TEST_CA", str(fake.ca_path))
    monkeypatch.setenv("BROWSER", str(BROWSER_SCRIPT))  # one executable: webbrowser takes no arguments here
    monkeypatch.setenv("AZASSIST_TEST_BROWSER_LOG", str(tmp_path / "browser.log"))
    monkeypatch.delenv("AZASSIST_TEST_BROWSER", raising=False)
    yield fake
    fake.stop()


@pytest.fixture
def make_provider(authority: FakeAuthority) -> MakeProvider:
    def make(method: SignInMethod = SignInMethod.BROWSER, **kwargs: Any) -> EntraTokenProvider:
        config_fields = {k: kwargs.pop(k) for k in list(kwargs) if k in EntraConfig.__dataclass_fields__}
        config = EntraConfig(method=method, authority=authority.url, **config_fields)
        return EntraTokenProvider(config, **kwargs)

    return make
