"""First-run values offered from the environment and a .env file."""

from __future__ import annotations

from pathlib import Path

from azassist.core.environment import read_environment_offer
from azassist.core.secrets import Secret


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("AZURE_OPENAI_ENDPOINT=https://file.openai.azure.com/\nAZURE_OPENAI_API_KEY=from-file-key\n")
    offer = read_environment_offer({"AZURE_OPENAI_ENDPOINT": "https://env.openai.azure.com/"}, dotenv)
    assert offer.endpoint == "https://env.openai.azure.com"
    assert offer.api_key == Secret("from-file-key")
    assert offer.source == ".env and environment"
    assert "from-file-key" not in repr(offer)


def test_dotenv_alone(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('AZURE_OPENAI_ENDPOINT="https://file.openai.azure.com"\nOPENAI_API_VERSION=2025-04-01-preview\n')
    offer = read_environment_offer({}, dotenv)
    assert offer.found and offer.source == ".env"
    assert offer.api_version == "2025-04-01-preview" and offer.api_key is None


def test_nothing_found(tmp_path: Path) -> None:
    offer = read_environment_offer({}, tmp_path / "missing.env")
    assert not offer.found and offer.source == ""
