"""Initial connection values offered from the environment and a ``.env`` file.

Azure users often already have ``AZURE_OPENAI_ENDPOINT`` and ``AZURE_OPENAI_API_KEY`` set
for the SDK samples; the first-run form is pre-filled from them. The key is returned as a
``Secret`` for the keyring and never copied into settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from azassist.core.secrets import Secret


@dataclass(frozen=True)
class EnvironmentOffer:
    endpoint: str = ""
    deployment: str = ""
    api_version: str = ""
    api_key: Secret | None = None
    source: str = ""  # "environment", ".env" or "" when nothing was found

    @property
    def found(self) -> bool:
        return bool(self.endpoint or self.api_key or self.deployment)


def read_environment_offer(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> EnvironmentOffer:
    """Process environment first, then ``.env`` in the working directory for what is missing."""
    environ = os.environ if environ is None else environ
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    from_file: dict[str, str] = {}
    if path.is_file():
        from_file = {k: v for k, v in dotenv_values(path).items() if v}
    sources = set()

    def pick(name: str) -> str:
        if environ.get(name):
            sources.add("environment")
            return environ[name].strip()
        if from_file.get(name):
            sources.add(".env")
            return from_file[name].strip()
        return ""

    key = pick("AZURE_OPENAI_API_KEY")
    return EnvironmentOffer(
        endpoint=pick("AZURE_OPENAI_ENDPOINT").rstrip("/"),
        deployment=pick("AZURE_OPENAI_REALTIME_DEPLOYMENT") or pick("AZURE_OPENAI_DEPLOYMENT"),
        api_version=pick("OPENAI_API_VERSION"),
        api_key=Secret(key) if key else None,
        source=" and ".join(sorted(sources)),
    )
