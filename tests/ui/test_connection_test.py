"""Test connection: connects with what the pane shows and reports success or the engine's
own plain-words error, against the local server over a real socket."""

from __future__ import annotations

import socket

import pytest

from azassist.core.paths import AppPaths
from azassist.simulator import LocalRealtimeServer
from tests.support.services import SecretService

from .conftest import API_KEY, open_window, settings_for

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("key", "connection", "expected"),
    [
        (API_KEY, {}, "✔ Connected to gpt-realtime at 127.0.0.1."),
        ("wrong-key-123456", {}, "✖ 127.0.0.1 rejected your API key (HTTP 401)"),
        (API_KEY, {"deployment": "no-such-deployment"}, "✖ There is no"),
        (API_KEY, {"endpoint": "closed"}, "✖ 127.0.0.1 refused the connection"),
        (API_KEY, {"endpoint": "tls"}, "✖ A secure (TLS) connection to 127.0.0.1 could not be set up"),
        (API_KEY, {"endpoint": "https://azassist-no-such-host.invalid"}, "✖ The endpoint host azassist-no-such-host.invalid was not found"),
    ],
    ids=["success", "wrong-key", "unknown-deployment", "nothing-listening", "not-tls", "unknown-host"],
)
async def test_connection_test_reports_in_plain_words(
    paths: AppPaths, server: LocalRealtimeServer, key: str, connection: dict[str, str], expected: str
) -> None:
    if connection.get("endpoint") == "closed":
        connection = {"endpoint": f"http://127.0.0.1:{closed_port()}"}
    elif connection.get("endpoint") == "tls":  # https to a server that only speaks plain HTTP
        connection = {"endpoint": f"https://127.0.0.1:{server.port}"}
    async with open_window(paths, settings_for(server, connection=connection)) as h:
        dialog = h.window.open_settings("connection")
        dialog.key_field.line.setText(key)
        ok = await dialog.run_connection_test()
        text = dialog.test_result.text()
        assert text.startswith(expected), text
        assert ok is expected.startswith("✔")
        assert "Traceback" not in text and "OpenAI Realtime API" not in text
        assert dialog.test_button.isEnabled()
        if "no-such-deployment" in str(connection):
            assert "'no-such-deployment'" in text and "(HTTP 404)" in text


async def test_connection_test_refuses_an_invalid_form(paths: AppPaths, server: LocalRealtimeServer) -> None:
    async with open_window(paths, settings_for(server)) as h:
        dialog = h.window.open_settings("connection")
        endpoint = dialog.forms["connection"].rows["endpoint"].editor
        endpoint.line.setText("http://example.com")
        ok = await dialog.run_connection_test()
        assert not ok and "Endpoint:" in dialog.test_result.text() and "https://" in dialog.test_result.text()
        assert len(server.sessions) == 0  # nothing was sent anywhere


@pytest.mark.keyring
async def test_connection_test_without_a_saved_key(
    paths: AppPaths, server: LocalRealtimeServer, secret_service: SecretService
) -> None:
    async with open_window(paths, settings_for(server)) as h:
        dialog = h.window.open_settings("connection")
        assert not await dialog.run_connection_test()
        assert dialog.test_result.text().startswith("✖ No API key is saved for 127.0.0.1")


async def test_connection_test_without_any_keyring(paths: AppPaths, server: LocalRealtimeServer, no_session_bus: None) -> None:
    async with open_window(paths, settings_for(server)) as h:
        dialog = h.window.open_settings("connection")
        assert "No system keyring is available" in dialog.key_field.backend.text()
        assert not await dialog.run_connection_test()
        assert dialog.test_result.text().startswith("✖ No system keyring is available to read your API key")
