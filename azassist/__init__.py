"""azassist: a desktop voice assistant for Azure OpenAI realtime deployments."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("azassist")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.1.0"
