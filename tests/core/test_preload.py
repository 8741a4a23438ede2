"""The voice engine imports on a worker thread (azassist/core/preload.py): the window's thread
never imports LiveKit, the plugin still registers on the main thread, and a window started
with an Azure configuration loads neither the local server nor the preview protocol's types.
No timing here: what ran where, and what was never loaded (bench figures 15-17 time it)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from azassist.simulator import LocalRealtimeServer

REPO = Path(__file__).resolve().parents[2]
KEY = "preload-test-key-" + "5" * 16

# Records, for every livekit/openai module, the thread that first looked for it.
WHO_IMPORTS = """
import sys, threading
importers = {}
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("livekit", "openai"):
            importers.setdefault(name, threading.current_thread().name)
        return None
sys.meta_path.insert(0, Watch())
"""

RUN_WINDOW = WHO_IMPORTS + textwrap.dedent(
    """
    import json, os
    from PySide6.QtCore import QTimer
    import azassist.ui.main_window as main_window
    from azassist.__main__ import main
    from azassist.core.secrets import Secret

    seen = {}
    finish = main_window.MainWindow.finish_start_up
    def finished(self, load, **options):
        finish(self, load, **options)
        self.credentials.use_for_this_run(self.settings.connection.host, Secret(os.environ["TEST_KEY"]))
    main_window.MainWindow.finish_start_up = finished
    on_state = main_window.MainWindow._on_state
    def watch(self, event):
        on_state(self, event)
        if event.connection.value in ("connected", "failed") and "state" not in seen:
            seen["state"] = event.connection.value
            QTimer.singleShot(100, self.quit)
    main_window.MainWindow._on_state = watch
    seen["exit"] = main(["--config-dir", sys.argv[1], "--connect"])
    from azassist.core.lean_imports import is_deferred
    from livekit.agents.plugin import Plugin
    seen["main_thread_imports"] = sorted(n for n, t in importers.items() if t == "MainThread")
    seen["livekit_imported_by"] = importers.get("livekit.agents")
    seen["import_threads"] = sorted(set(importers.values()))
    seen["simulator_loaded"] = "azassist.simulator.server" in sys.modules
    seen["preview_protocol_deferred"] = is_deferred("openai.types.beta.realtime")
    seen["preview_events_loaded"] = sorted(n for n in sys.modules if n.startswith("openai.types.beta.realtime.response"))
    seen["plugins"] = [type(p).__name__ for p in Plugin.registered_plugins]
    print(json.dumps(seen))
    """
)


@pytest.mark.asyncio
@pytest.mark.audio
@pytest.mark.timeout(120)
async def test_a_window_with_an_azure_configuration_imports_livekit_off_its_thread_and_no_local_server(
    tmp_path: Path,
) -> None:
    async with LocalRealtimeServer(api_key=KEY, responder="scripted", pace=0) as server:
        profile = tmp_path / "profile"
        profile.mkdir()
        (profile / "settings.json").write_text(json.dumps({"connection": {"endpoint": server.endpoint,
                                                                          "deployment": "gpt-realtime"}}))
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO), "TEST_KEY": KEY}
        env.pop("OPENAI_API_VERSION", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_WINDOW, str(profile), env=env, cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 100)
    assert proc.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["state"] == "connected" and seen["exit"] == 0
    assert seen["livekit_imported_by"] == "azassist-import"
    # one import thread beside the window's: two importing at once can meet in a package's
    # circular imports and get a half-initialised module
    assert seen["import_threads"] == ["MainThread", "azassist-import"]
    on_main = [name for name in seen["main_thread_imports"] if name.startswith("livekit")]
    # only what LiveKit imports inside its functions when a session starts (a few modules of
    # a package already loaded), never the packages themselves (hundreds of modules)
    assert not {"livekit.agents", "livekit.rtc", "livekit.plugins.openai"} & set(on_main), on_main
    assert len(on_main) < 10, on_main
    assert seen["plugins"] == ["OpenAIPlugin"]  # registered all the same, on the main thread
    assert seen["simulator_loaded"] is False  # the local server is for the demo and the check
    assert seen["preview_protocol_deferred"] is True and seen["preview_events_loaded"] == []


RUN_PRELOAD = WHO_IMPORTS + textwrap.dedent(
    """
    import asyncio, gc, json, threading
    from azassist.core.preload import load_engine, preload_engine
    preload_engine()
    package = asyncio.run(load_engine())
    from livekit.agents.plugin import Plugin
    print(json.dumps({
        "engine": package.__name__,
        "plugins": [type(p).__name__ for p in Plugin.registered_plugins],
        "registration_restored": "register_plugin" in vars(Plugin) and Plugin.register_plugin.__func__.__module__ == "livekit.agents.plugin",
        "livekit_by": importers.get("livekit.agents"),
        "frozen": gc.get_freeze_count() > 0,
        "gc_enabled": gc.isenabled(),
    }))
    """
)


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_engine_loads_on_its_thread_and_registers_livekits_plugin_on_the_main_thread() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN_PRELOAD, env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    assert proc.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen == {"engine": "azassist.core.engine", "plugins": ["OpenAIPlugin"], "registration_restored": True,
                    "livekit_by": "azassist-import", "frozen": True, "gc_enabled": True}
