"""First run both ways: connect to Azure (form pre-filled from the environment, the key in
the real keyring and in no file) or the offline demo (the local server in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from azassist.core.environment import EnvironmentOffer
from azassist.core.events import ConnectionState
from azassist.core.paths import AppPaths
from azassist.core.secrets import Secret
from azassist.core.settings import Settings
from azassist.simulator import LocalRealtimeServer
from tests.support.services import SecretService

from .conftest import API_KEY, DEPLOYMENT, files_containing, open_window, until

pytestmark = [pytest.mark.timeout(60)]


def offer_for(server: LocalRealtimeServer) -> EnvironmentOffer:
    return EnvironmentOffer(endpoint=server.endpoint, deployment=DEPLOYMENT, api_key=Secret(API_KEY), source="environment")


@pytest.mark.keyring
@pytest.mark.asyncio
async def test_connect_to_azure_prefilled_key_in_keyring_not_in_files(
    paths: AppPaths, server: LocalRealtimeServer, secret_service: SecretService
) -> None:
    server.scripted.queue_reply("Welcome aboard.")
    async with open_window(paths, Settings(), offer=offer_for(server)) as h:
        window, welcome = h.window, h.window.welcome
        assert window.pages.currentWidget() is welcome and window.toolbar.isHidden()
        welcome.connect_choice.click()
        assert welcome.currentWidget() is welcome.form_page
        assert welcome.form.rows["endpoint"].editor.value() == server.endpoint  # from AZURE_OPENAI_ENDPOINT
        assert welcome.form.rows["deployment"].editor.value() == DEPLOYMENT
        assert welcome.key_field.line.text() == API_KEY  # from AZURE_OPENAI_API_KEY, in memory only
        assert "Secret Service" in welcome.key_field.backend.text()
        welcome.submit_button.click()
        await h.connected()
        assert window.pages.currentWidget() is window.conversation_page and not window.toolbar.isHidden()
        assert keyring.get_password("azassist", "127.0.0.1") == API_KEY
        stored = json.loads(paths.settings_file.read_text())
        assert stored["connection"]["endpoint"] == server.endpoint
        window.send_text("hello")
        await until(lambda: h.finals("assistant"), what="a reply")
        assert h.finals("assistant") == ["Welcome aboard."]
    assert files_containing(paths.config_dir, API_KEY) == []  # settings, logs, conversations, window state


@pytest.mark.keyring
@pytest.mark.asyncio
async def test_a_locked_keyring_offers_this_run_only(
    paths: AppPaths, server: LocalRealtimeServer, locked_secret_service: SecretService
) -> None:
    async with open_window(paths, Settings(), offer=offer_for(server)) as h:
        welcome = h.window.welcome
        welcome.show_form()
        welcome.submit_button.click()
        field = welcome.key_field
        assert not field.run_only_button.isHidden()
        assert "unlock" in field.status.text().lower() or "locked" in field.status.text().lower()
        assert not welcome.problem.isHidden()
        field.run_only_button.click()  # carries on connecting with the key in memory
        await h.connected()
        assert "this run only" in field.status.text()
    assert files_containing(paths.config_dir, API_KEY) == []


@pytest.mark.asyncio
async def test_the_form_says_what_is_missing(paths: AppPaths, server: LocalRealtimeServer) -> None:
    async with open_window(paths, Settings(), offer=EnvironmentOffer()) as h:
        welcome = h.window.welcome
        welcome.show_form()
        assert not welcome.submit()
        assert "Enter the endpoint and the realtime deployment name." in welcome.problem.text()
        endpoint = welcome.form.rows["endpoint"]
        endpoint.editor.line.setText("http://my-resource.openai.azure.com")
        assert not welcome.submit()
        assert "https://" in endpoint.error.text()
        assert h.window.pages.currentWidget() is welcome  # nothing happened behind the user's back
        assert not paths.settings_file.read_text().count("my-resource")


@pytest.mark.asyncio
async def test_try_the_offline_demo(paths: AppPaths) -> None:
    async with open_window(paths, Settings(), local_pace=4.0) as h:
        window = h.window
        window.welcome.demo_choice.click()
        await h.connected()
        assert window.pages.currentWidget() is window.conversation_page
        assert "offline demo" in window.state_pill.text() and "offline demo" in window.windowTitle()
        assert window.endpoint_label.text() == "Local demo server (offline)"
        window.send_text("hello")
        await until(lambda: h.finals("assistant"), what="the demo's reply")
        assert "offline demo" in h.finals("assistant")[0]
        # The demo never touches the user's own connection settings.
        assert json.loads(paths.settings_file.read_text())["connection"]["endpoint"] == ""
        window.connect_action.trigger()  # Disconnect
        await until(lambda: window.connection is ConnectionState.DISCONNECTED, what="the disconnect")
        assert window.connect_action.text() == "Connect"


@pytest.mark.keyring
@pytest.mark.asyncio
async def test_settings_saves_the_key_in_the_keyring(
    paths: AppPaths, server: LocalRealtimeServer, secret_service: SecretService
) -> None:
    from .conftest import settings_for

    async with open_window(paths, settings_for(server)) as h:
        dialog = h.window.open_settings("connection")
        field = dialog.key_field
        assert "Secret Service" in field.backend.text()
        assert "No key is saved" in field.status.text()
        field.line.setText("a-brand-new-key-0001")
        field.save_button.click()
        assert keyring.get_password("azassist", "127.0.0.1") == "a-brand-new-key-0001"
        assert field.line.text() == "" and "Saved in Secret Service" in field.status.text()
        dialog.close()
    assert files_containing(paths.config_dir, "a-brand-new-key-0001") == []


def test_the_form_is_prefilled_from_the_environment_and_dotenv(
    qtbot: QtBot, paths: AppPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No injected offer: the window reads AZURE_OPENAI_* and ./.env itself."""
    from azassist.core.settings import LoadResult
    from azassist.ui.main_window import MainWindow

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("AZURE_OPENAI_DEPLOYMENT=from-dotenv\nAZURE_OPENAI_API_KEY=dotenv-key-123456\n")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://from-env.openai.azure.com/")
    window = MainWindow(paths, LoadResult(Settings()))
    qtbot.addWidget(window)
    welcome = window.welcome
    assert welcome.form.rows["endpoint"].editor.value() == "https://from-env.openai.azure.com"
    assert welcome.form.rows["deployment"].editor.value() == "from-dotenv"
    assert welcome.key_field.line.text() == "dotenv-key-123456"
    assert window.pages.currentWidget() is welcome
    QApplication.instance().removeEventFilter(window)
