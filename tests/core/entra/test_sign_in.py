"""Sign-in with the real azure-identity against the local authority: browser, device code,
renewal, and each failure in plain words."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from azassist.core.auth import TokenError
from azassist.core.entra import DeviceCodePrompt, EntraConfig, EntraTokenProvider, errors
from azassist.core.entra.claims import token_claims
from azassist.core.secrets import redact
from azassist.core.settings import SignInMethod

from .conftest import MakeProvider
from .fake_authority import FakeAuthority

pytestmark = pytest.mark.asyncio


async def test_browser_sign_in_gives_a_token_the_service_accepts(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    records: list[str] = []
    provider = make_provider(on_record=records.append)
    account = await provider.sign_in()
    assert account.label == "Ada Lovelace (ada@contoso.example)"
    assert account.tenant_id == authority.user.tid
    assert authority.counters.authorize == 1 and authority.counters.auth_code == 1
    token = await provider.get_token()
    assert authority.verify(token.reveal()) == 200
    assert redact(f"x {token.reveal()} y") == "x *** y"  # registered as a secret
    # the record is what settings keep: non-secret, no token in it
    assert records and records[-1] == provider.record
    assert token.reveal() not in provider.record and "ada@contoso.example" in provider.record
    # no Secret Service with libsecret bindings here: memory only, and it says so
    assert provider.cache_note is None or "memory" in provider.cache_note


async def test_after_a_restart_without_an_encrypted_cache_the_record_asks_for_one_click(
    authority: FakeAuthority, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    await provider.sign_in()
    again = make_provider(record=provider.record)  # a new process: no tokens in memory
    with pytest.raises(TokenError) as caught:
        await again.get_token()  # the window's background connect never opens a browser itself
    assert caught.value.message == errors.EXPIRED
    account = await again.sign_in()  # one click: the record's account, same authority
    assert account.username == "ada@contoso.example"
    assert authority.verify((await again.get_token()).reveal()) == 200


async def test_tokens_are_renewed_before_they_expire(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    authority.lifetime_s = 30  # well inside the 5-minute margin: every ask renews
    provider = make_provider()
    await provider.sign_in()
    first = await provider.get_token()
    second = await provider.get_token()
    assert first != second
    assert authority.counters.refresh >= 1
    assert authority.verify(second.reveal()) == 200


async def test_a_long_lived_token_is_reused(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    provider = make_provider()
    await provider.sign_in()
    issued = len(authority.counters.issued)
    assert await provider.get_token() == await provider.get_token()
    assert len(authority.counters.issued) == issued


async def test_device_code_sign_in_shows_the_code_and_url(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    prompts: list[DeviceCodePrompt] = []
    provider = make_provider(SignInMethod.DEVICE_CODE, on_device_code=prompts.append)
    account = await provider.sign_in()
    assert account.username == "ada@contoso.example"
    assert [p.user_code for p in prompts] == [authority.device_prompts[0]["user_code"]]
    assert prompts[0].verification_uri == authority.device_prompts[0]["verification_uri"]


async def test_device_code_sign_in_can_be_cancelled(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    authority.auto_approve = False
    shown = asyncio.Event()
    loop = asyncio.get_running_loop()
    provider = make_provider(SignInMethod.DEVICE_CODE, on_device_code=lambda _p: loop.call_soon_threadsafe(shown.set))
    task = asyncio.create_task(provider.sign_in())
    await shown.wait()
    while authority.counters.device_polls < 1:
        await asyncio.sleep(0.05)
    provider.cancel()
    with pytest.raises(TokenError) as caught:
        await task
    assert caught.value.message == errors.CANCELLED


async def test_browser_sign_in_can_be_cancelled(authority: FakeAuthority, make_provider: MakeProvider, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AZASSIST_TEST_BROWSER", "ignore")  # the user never finishes in the browser
    provider = make_provider()
    task = asyncio.create_task(provider.sign_in())
    log = tmp_path / "browser.log"
    while not log.exists():
        await asyncio.sleep(0.05)
    assert provider.busy
    provider.cancel()
    with pytest.raises(TokenError) as caught:
        await task
    assert caught.value.message == errors.CANCELLED


@pytest.mark.parametrize(
    ("error", "description", "message"),
    [
        ("access_denied", "AADSTS65004: User declined to consent to access the app.", errors.CANCELLED),
        ("invalid_request", "AADSTS50020: User account from identity provider does not exist in tenant.", errors.WRONG_TENANT),
        ("invalid_client", "AADSTS65001: The user or administrator has not consented to use the application.", errors.CONSENT_REQUIRED),
        ("access_denied", "AADSTS53003: Access has been blocked by Conditional Access policies.", errors.BLOCKED),
        ("invalid_request", "AADSTS700016: Application with identifier 'x' was not found in the directory.", errors.APP_NOT_FOUND),
    ],
)
async def test_authorize_failures_in_plain_words(
    authority: FakeAuthority, make_provider: MakeProvider, error: str, description: str, message: str
) -> None:
    authority.authorize_error = (error, description)
    provider = make_provider()
    with pytest.raises(TokenError) as caught:
        await provider.sign_in()
    assert caught.value.message == message
    assert provider.record == ""


async def test_token_that_cannot_be_renewed(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    authority.lifetime_s = 30
    provider = make_provider()
    await provider.sign_in()
    await provider.get_token()
    authority.refresh_error = ("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.")
    with pytest.raises(TokenError) as caught:
        await provider.get_token()
    assert caught.value.message == errors.EXPIRED


async def test_no_network_to_the_authority(authority: FakeAuthority) -> None:
    url = authority.url
    authority.stop()  # nothing listens there any more
    provider = EntraTokenProvider(EntraConfig(method=SignInMethod.DEVICE_CODE, authority=url))
    with pytest.raises(TokenError) as caught:
        await provider.sign_in()
    assert caught.value.message == errors.NO_NETWORK


async def test_access_token_claims(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    provider = make_provider(SignInMethod.DEVICE_CODE)
    await provider.sign_in()
    claims = token_claims((await provider.get_token()).reveal())
    assert {"exp", "oid", "upn", "tid"} <= set(claims)
