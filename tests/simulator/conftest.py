"""Simulator fixtures: strict servers whose every wire event must match the openai models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from azassist.simulator import LocalRealtimeServer, Violation

from .support import DEPLOYMENT

API_KEY = "test-key"
StartSimulator = Callable[..., Awaitable[LocalRealtimeServer]]

_suite_violations: list[Violation] = []


@pytest.fixture(autouse=True)
def _no_api_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin switches to the preview protocol when this is set."""
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)


@pytest.fixture(scope="session", autouse=True)
def _no_schema_violations_in_the_session() -> Iterator[None]:
    """Session-wide: no event the simulator sent or received failed the official models."""
    yield
    assert not _suite_violations, "schema violations:\n" + "\n".join(map(str, _suite_violations))


@pytest_asyncio.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    """Start strict simulators (pace 0 unless asked); each test fails on any violation.

    ``allow_invalid_client_events=True`` is for tests that send invalid events on purpose:
    violations in what the server *received* are then expected, in what it sent never.
    """
    servers: list[tuple[LocalRealtimeServer, bool]] = []

    async def start(
        *, allow_invalid_client_events: bool = False, **overrides: Any
    ) -> LocalRealtimeServer:
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "deployments": (DEPLOYMENT,),
            "responder": "scripted",
            "pace": 0.0,
            "strict_validation": True,
        }
        options.update(overrides)
        server = await LocalRealtimeServer(**options).start()
        servers.append((server, allow_invalid_client_events))
        return server

    yield start
    for server, _ in servers:
        await server.stop()
    found = [
        v
        for server, allow_received in servers
        for v in server.violations
        if not (allow_received and v.direction == "received")
    ]
    _suite_violations.extend(found)
    assert not found, "schema violations:\n" + "\n".join(map(str, found))


@pytest.fixture(params=[False, True], ids=["ga", "preview"])
def preview(request: pytest.FixtureRequest) -> bool:
    """Run a test on both protocol generations."""
    return bool(request.param)
