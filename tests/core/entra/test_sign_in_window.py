"""Settings › Connection in Entra ID mode on a real X display (Xvfb), with the real
azure-identity and the local authority: the device-code prompt, then the signed-in account.
Screenshots go to a temporary folder (``make screenshots`` refreshes tracked ones only for
tests/ui). Run in a child process: one process cannot switch Qt platform."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from .fake_authority import FakeAuthority

REPO = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, ssl, sys, time, urllib.parse, urllib.request, os
    from pathlib import Path
    from azassist.core.environment import EnvironmentOffer
    from azassist.core.paths import resolve_paths
    from azassist.core.settings import LoadResult, Settings, SignInMethod
    from azassist.ui.settings_form import field_specs
    from azassist.ui.app import create_application
    from azassist.ui.event_loop import AppEventLoop
    from azassist.ui.main_window import MainWindow

    out, profile = Path(sys.argv[1]), Path(sys.argv[2])
    app = create_application()
    app.setCursorFlashTime(0)
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = Settings.model_validate({"connection": {
        "endpoint": "https://contoso-voice.openai.azure.com", "deployment": "gpt-realtime",
        "auth_mode": "entra_id", "entra_method": "browser"}})

    async def wait(predicate, what):
        for _ in range(600):
            if predicate():
                return
            await asyncio.sleep(0.05)
        raise SystemExit(f"timed out waiting for {what}")

    def user_enters(uri, code):  # what the user does on another device
        context = ssl.create_default_context(cafile=os.environ["AZASSIST_TEST_CA"])
        body = urllib.parse.urlencode({"otc": code}).encode()
        urllib.request.urlopen(urllib.request.Request(uri, data=body), context=context, timeout=10).read()

    async def main():
        window = MainWindow(resolve_paths(profile).ensure(), LoadResult(settings), offer=EnvironmentOffer())
        window.resize(1000, 720)
        window.show()
        dialog = window.open_settings("connection")
        dialog.resize(880, 660)
        entra = dialog.entra
        assert entra.isVisible() and not dialog.key_field.isVisible()
        assert entra.account_label.text() == "Not signed in"
        # the browser way first: the user never finishes in the browser and presses Cancel
        entra.sign_in_button.click()
        await wait(lambda: Path(os.environ["AZASSIST_TEST_BROWSER_LOG"]).exists(), "the browser to open")
        print("waiting", entra.waiting_label.text(), entra.waiting_label.isVisible(), entra.cancel_button.isVisible(), flush=True)
        dialog.grab().save(str(out / "entra-browser-wait.png"))
        entra.cancel_button.click()
        await wait(lambda: not entra.busy, "the cancel")
        print("cancelled", entra.message.text(), flush=True)
        spec = next(s for s in field_specs("connection") if s.name == "entra_method")
        window.editor.propose(spec, SignInMethod.DEVICE_CODE)
        entra.sign_in_button.click()
        await wait(lambda: entra.code_box.isVisible(), "the device code")
        assert entra.cancel_button.isVisible() and entra.busy
        await asyncio.sleep(0.3)
        dialog.grab().save(str(out / "entra-device-code.png"))
        entra.copy_button.click()
        code = app.clipboard().text()
        print("code", code, flush=True)
        await asyncio.to_thread(user_enters, entra._prompt.verification_uri, code)
        await wait(lambda: not entra.busy, "the sign-in to finish")
        print("account", entra.account_label.text(), flush=True)
        print("message", entra.message.text(), flush=True)
        print("record", "ada@contoso.example" in window.editor.draft.connection.entra_record, flush=True)
        await asyncio.sleep(0.3)
        dialog.grab().save(str(out / "entra-signed-in.png"))
        window.editor.commit()
        Path(out / "settings-signed-in.json").write_text(window.editor.settings.model_dump_json())
        entra.sign_out_button.click()
        print("signed-out", entra.account_label.text(), repr(window.editor.draft.connection.entra_record), flush=True)
        dialog.close()
        window.quit()

    loop.run_until_complete(main())
    loop.close()
    print("done", flush=True)
    """
)


@pytest.mark.xvfb
@pytest.mark.timeout(120)
def test_sign_in_pane_device_code_then_signed_in(xvfb_display: str, authority: FakeAuthority, tmp_path: Path) -> None:
    authority.auto_approve = False  # the child approves by 'typing' the code it copied
    shots = tmp_path / "screenshots"
    shots.mkdir()
    environment = {
        **os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb_display, "PYTHONPATH": str(REPO),
        "AZASSIST_ENTRA_AUTHORITY": authority.url, "AZASSIST_CONFIG_DIR": str(tmp_path / "profile"),
        "AZASSIST_TEST_BROWSER": "ignore",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(shots), str(tmp_path / "profile")],
        capture_output=True, text=True, timeout=110, env=environment, cwd=REPO, check=False,
    )
    assert result.returncode == 0 and "done" in result.stdout, result.stdout[-2000:] + result.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["waiting"] == "Waiting for sign-in in your browser… True True"
    assert lines["cancelled"] == "Sign-in was cancelled."
    assert lines["code"] == authority.device_prompts[0]["user_code"]
    assert "Ada Lovelace (ada@contoso.example)" in lines["account"]
    assert lines["record"] == "True"
    assert lines["signed-out"] == "Not signed in ''"
    saved = (shots / "settings-signed-in.json").read_text()
    assert "ada@contoso.example" in saved  # the record: who, not a token
    for folder in (shots, tmp_path / "profile"):
        for path in (p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes().decode("utf-8", "replace")
            assert not [t for t in authority.counters.secrets if t in data], f"a token in {path}"
    for name in ("entra-browser-wait.png", "entra-device-code.png", "entra-signed-in.png"):
        image = QImage(str(shots / name))
        assert not image.isNull() and image.width() >= 800, name
    if os.environ.get("AZASSIST_KEEP_ENTRA_SHOTS"):
        for name in ("entra-browser-wait.png", "entra-device-code.png", "entra-signed-in.png"):
            (Path(os.environ["AZASSIST_KEEP_ENTRA_SHOTS"]) / name).write_bytes((shots / name).read_bytes())
