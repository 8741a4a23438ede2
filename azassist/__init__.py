"""azassist: a desktop voice assistant for Azure OpenAI realtime deployments."""

from azassist.core.lean_imports import defer_package_inits

# A constant, not importlib.metadata: looking the installed version up costs ~35 ms of every
# start-up. tests/test_startup.py keeps it equal to pyproject.toml's version.
__version__ = "0.1.0"

# Before anything imports openai-python: its type packages re-export lazily (see
# azassist/core/lean_imports.py; about a third of the engine's import time), in every
# process that runs azassist's code (the window, talk, the local server, tests).
defer_package_inits()
