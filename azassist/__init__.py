"""azassist: a desktop voice assistant for Azure OpenAI realtime deployments."""

# A constant, not importlib.metadata: looking the installed version up costs ~35 ms of every
# start-up. tests/test_startup.py keeps it equal to pyproject.toml's version.
__version__ = "0.1.0"
