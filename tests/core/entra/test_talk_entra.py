"""``azassist talk --entra-id`` as a user runs it: a subprocess signing in with a device code
printed to the terminal, against the local authority and the local realtime server."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from azassist.core.settings import Settings
from azassist.simulator import LocalRealtimeServer

from .fake_authority import FakeAuthority

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[3]
DEPLOYMENT = "gpt-realtime"


@pytest_asyncio.fixture
async def server(authority: FakeAuthority) -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(api_key="the-resource-key-" + "3" * 16, deployments=(DEPLOYMENT,), responder="scripted", pace=0) as srv:
        srv.bearer_check = authority.verify
        yield srv


async def _talk(config_dir: Path, authority: FakeAuthority, *args: str, **env_extra: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AZURE_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENAI_API_VERSION")}
    env.update(
        AZASSIST_CONFIG_DIR=str(config_dir), PYTHONPATH=str(ROOT), AZASSIST_ENTRA_AUTHORITY=authority.url,
        REQUESTS_CA_BUNDLE=str(authority.ca_path), **env_extra,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "azassist", "--config-dir", str(config_dir), "--log-level", "DEBUG", "talk", *args,
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _leaks(authority: FakeAuthority, folder: Path, *texts: str) -> list[str]:
    """Files (and outputs) under ``folder`` that hold any token the authority gave out."""
    found = []
    for path in [p for p in folder.rglob("*") if p.is_file()]:
        data = path.read_bytes().decode("utf-8", "replace")
        found += [f"{path}: token {n}" for n, token in enumerate(authority.counters.secrets) if token in data]
    for n, text in enumerate(texts):
        found += [f"output {n}" for token in authority.counters.secrets if token in text]
    return found


async def test_talk_signs_in_with_a_device_code_in_the_terminal(
    authority: FakeAuthority, server: LocalRealtimeServer, tmp_path: Path
) -> None:
    server.scripted.queue_reply("Hello from the resource.")
    config = tmp_path / "profile"
    status, out, err = await _talk(
        config, authority, "--endpoint", server.endpoint, "--deployment", DEPLOYMENT, "--entra-id",
        "--sign-in", "device-code", "--text-only", "--say", "hello", "--until-idle",
    )
    assert status == 0, err
    assert "Assistant: Hello from the resource." in out
    code = authority.device_prompts[0]["user_code"]
    assert f"open {authority.device_prompts[0]['verification_uri']} in a browser and enter the code {code}" in err
    assert [h.status for h in server.handshakes] == [200]
    assert server.handshakes[0].bearer_sent and not server.handshakes[0].api_key_sent
    assert authority.counters.secrets and not _leaks(authority, config, out, err)
    saved = Settings.model_validate_json((config / "settings.json").read_text())
    assert "ada@contoso.example" in saved.connection.entra_record  # the next run knows who signed in
    assert saved.connection.auth_mode.value == "api_key"  # this run's flags were not saved


async def test_talk_without_the_role_says_so(authority: FakeAuthority, server: LocalRealtimeServer, tmp_path: Path) -> None:
    authority.role_holders = set()  # nobody has 'Cognitive Services OpenAI User'
    config = tmp_path / "profile"
    status, out, err = await _talk(
        config, authority, "--endpoint", server.endpoint, "--deployment", DEPLOYMENT, "--entra-id",
        "--sign-in", "device-code", "--text-only", "--say", "hello", "--until-idle",
    )
    assert status == 3, err
    assert "HTTP 403" in err
    assert not _leaks(authority, config, out, err)


async def test_talk_never_sends_an_api_key_in_entra_mode(
    authority: FakeAuthority, server: LocalRealtimeServer, tmp_path: Path
) -> None:
    server.scripted.queue_reply("Hello.")
    status, _out, err = await _talk(
        tmp_path / "profile", authority, "--endpoint", server.endpoint, "--deployment", DEPLOYMENT, "--entra-id",
        "--sign-in", "device-code", "--text-only", "--say", "hello", "--until-idle",
        AZURE_OPENAI_API_KEY="an-api-key-in-the-environment",
    )
    assert not any(h.api_key_sent for h in server.handshakes)
    assert status == 0, err
