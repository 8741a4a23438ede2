"""openai-python's type packages re-export lazily (azassist/core/lean_imports.py): the voice
engine imports without the preview protocol's and the Assistants API's hundreds of modules,
and every way of reading a name from those packages still gives what their __init__ gives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from azassist.core.lean_imports import reexports

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter (this process may have imported openai already)."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            cwd=REPO, check=True, env={"HOME": "/tmp", "PATH": "/usr/bin:/bin"})
    return result.stdout.strip()


def test_the_engine_imports_without_the_preview_protocol_or_the_assistants_api() -> None:
    out = _run("""
        import sys
        import azassist.core.engine
        from azassist.core.lean_imports import is_deferred
        print(is_deferred("openai.types.beta"), is_deferred("openai.types.beta.realtime"),
              "openai.types.beta.assistant" in sys.modules,
              "openai.types.beta.realtime.response_create_event" in sys.modules,
              sum(name.startswith("openai.types.beta.") for name in sys.modules))
    """)
    deferred_beta, deferred_preview, assistants, preview_event, beta_modules = out.split()
    assert (deferred_beta, deferred_preview, assistants, preview_event) == ("True", "True", "False", "False")
    assert int(beta_modules) < 60  # the few LiveKit imports by module (558 with the whole package)


def test_names_read_from_a_deferred_package_are_what_its_init_gives() -> None:
    out = _run("""
        import importlib
        import azassist  # installs the finder
        from openai.types.beta import realtime  # a submodule, by from-import
        from openai.types.beta.realtime import SessionUpdateEvent  # a re-export
        from openai.types.beta.realtime.session_update_event import SessionUpdateEvent as direct
        import openai.types.realtime as ga
        from azassist.core.lean_imports import is_deferred
        checks = [SessionUpdateEvent is direct, realtime.SessionUpdateEvent is direct,
                  ga.RealtimeSessionCreateRequest.__name__ == "RealtimeSessionCreateRequest",
                  is_deferred("openai.types.beta.realtime")]
        try:
            realtime.NoSuchThing
        except AttributeError:
            checks.append(True)  # an unknown name ran the real __init__, then failed as before
        checks.append(not is_deferred("openai.types.beta.realtime"))
        namespace = {}
        exec("from openai.types.beta.realtime import *", namespace)
        checks.append(namespace["SessionUpdateEvent"] is direct)
        print(all(checks), checks)
    """)
    assert out.startswith("True"), out


def test_only_an_init_made_of_relative_imports_is_deferred() -> None:
    source = '"""doc"""\nfrom __future__ import annotations\nfrom .a import A as A\nfrom .b import (B as B, C)\nfrom . import sub\n'
    assert reexports(source) == {"A": ("a", "A"), "B": ("b", "B"), "C": ("b", "C"), "sub": ("sub", None)}
    assert reexports(source + "import os\n") is None
    assert reexports(source + "x = 1\n") is None
    assert reexports(source + "from .d import *\n") is None
