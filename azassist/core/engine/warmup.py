"""Build, while the user is still talking, what the first reply would otherwise build.

openai-python's realtime models defer their pydantic schemas (``defer_build``) until an
instance is first made, and LiveKit's plugin makes one per server event it handles. So the
first reply of a process built about a dozen schemas between the server's
``response.created`` and its first audio delta, while the delta waited on the socket: on the
local server the first reply was heard 31-46 ms after it was sent, later ones 20-30 ms.
Building them right after the session starts moves that work to a moment nobody waits on
(first replies then 23-30 ms), one model per event-loop turn so the loop stays responsive.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

from pydantic import BaseModel

log = logging.getLogger(__name__)

# the protocol's models, GA and preview (LiveKit's plugin imports both)
MODEL_PACKAGES = ("openai.types.realtime", "openai.types.beta.realtime")


def unbuilt_models(packages: tuple[str, ...] = MODEL_PACKAGES) -> list[type[BaseModel]]:
    """The pydantic models defined in the already imported modules of ``packages`` whose
    schema is not built yet (nothing new is imported)."""
    found: list[type[BaseModel]] = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name in packages or name.startswith(tuple(p + "." for p in packages))):
            continue
        for value in list(vars(module).values()):
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == name
                and not value.__pydantic_complete__
            ):
                found.append(value)
    return found


async def build_protocol_models(models: list[type[BaseModel]] | None = None) -> int:
    """Build ``models`` (default: every unbuilt protocol model), yielding to the loop between
    models; returns how many were built. A model pydantic cannot build now is left to be
    built on first use."""
    started, built = time.perf_counter(), 0
    for model in unbuilt_models() if models is None else models:
        try:
            if model.model_rebuild() is not False:
                built += 1
        except Exception:
            log.debug("could not build %s ahead of use", model.__qualname__, exc_info=True)
        await asyncio.sleep(0)
    elapsed_ms = 1000 * (time.perf_counter() - started)
    log.debug("built %d protocol models ahead of the first reply in %.0f ms", built, elapsed_ms)
    return built
