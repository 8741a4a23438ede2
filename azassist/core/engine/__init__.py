"""The conversation engine (LiveKit AgentSession + Azure OpenAI realtime), Qt-free.

    engine = Engine(settings, keys=CredentialStore(), audio=factory,
                    conversations_dir=paths.conversations_dir)
    engine.subscribe(on_event)
    await engine.connect()

LiveKit is imported when this package is imported (about 1 s): import it lazily from the
window, after the first paint.
"""

from azassist.core.engine.audio_io import AudioFactory, AudioPair, AudioSeam, MeteredInput, no_audio
from azassist.core.engine.auth import (
    ApiKeySource,
    EnvironmentKeySource,
    MemoryKeySource,
    StaticTokenProvider,
    TokenError,
    TokenProvider,
)
from azassist.core.engine.engine import MIN_PUSH_TO_TALK_SECONDS, Engine
from azassist.core.engine.errors import Failure, describe_failure, describe_server_error

__all__ = [
    "MIN_PUSH_TO_TALK_SECONDS",
    "ApiKeySource",
    "AudioFactory",
    "AudioPair",
    "AudioSeam",
    "Engine",
    "EnvironmentKeySource",
    "Failure",
    "MemoryKeySource",
    "MeteredInput",
    "StaticTokenProvider",
    "TokenError",
    "TokenProvider",
    "describe_failure",
    "describe_server_error",
    "no_audio",
]
