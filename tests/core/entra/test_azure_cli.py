"""The Azure CLI path: a fake ``az`` on PATH, the real AzureCliCredential."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from azassist.core.auth import TokenError
from azassist.core.entra import EntraConfig, EntraTokenProvider, errors
from azassist.core.settings import SignInMethod

from .fake_authority import FakeAuthority

pytestmark = pytest.mark.asyncio
FAKE_AZ = Path(__file__).with_name("fake_az")


@pytest.fixture
def az_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "az"
    (folder / "bin").mkdir(parents=True)
    shutil.copy(FAKE_AZ, folder / "bin" / "az")
    monkeypatch.setenv("PATH", f"{folder / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("AZASSIST_TEST_AZ_DIR", str(folder))
    return folder


def _cli_provider() -> EntraTokenProvider:
    return EntraTokenProvider(EntraConfig(method=SignInMethod.AZURE_CLI))


async def test_the_azure_cli_login_gives_the_token(az_dir: Path, authority: FakeAuthority) -> None:
    minted = authority.mint()
    (az_dir / "token.json").write_text(
        json.dumps({"accessToken": minted["access_token"], "expires_on": 4_000_000_000, "tokenType": "Bearer"})
    )
    provider = _cli_provider()
    account = await provider.sign_in()
    assert account.username == "ada@contoso.example"
    token = await provider.get_token()
    assert authority.verify(token.reveal()) == 200
    calls = (az_dir / "calls.log").read_text()
    assert "get-access-token" in calls and "cognitiveservices.azure.com" in calls
    assert minted["access_token"] not in calls  # never in argv


async def test_the_azure_cli_not_logged_in(az_dir: Path) -> None:
    with pytest.raises(TokenError) as caught:
        await _cli_provider().get_token()
    assert caught.value.message == errors.AZ_NOT_LOGGED_IN


async def test_no_azure_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no az anywhere
    with pytest.raises(TokenError) as caught:
        await _cli_provider().get_token()
    assert caught.value.message == errors.NO_AZ
