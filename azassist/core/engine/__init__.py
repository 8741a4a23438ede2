"""The conversation engine (LiveKit AgentSession + Azure OpenAI realtime), Qt-free.

How a front end builds one (the window does exactly this)::

    from azassist.core.audio.facade import open_device_audio
    from azassist.core.credentials import CredentialStore
    from azassist.core.engine import Engine

    engine = Engine(settings, keys=CredentialStore(), conversations_dir=paths.conversations_dir)
    engine.audio_factory = lambda s: open_device_audio(s.audio, on_event=engine.report)
    engine.subscribe(on_event)          # typed events from azassist.core.events
    await engine.connect()              # never raises for a user problem: watch the events

Import this package on the main thread (LiveKit registers its plugins there only), and
lazily: importing LiveKit takes one to three seconds.
"""

from azassist.core.auth import (
    ApiKeySource,
    EnvironmentKeySource,
    MemoryKeySource,
    StaticTokenProvider,
    TokenError,
    TokenProvider,
)
from azassist.core.engine.audio_io import AudioFactory, AudioPair, AudioSeam, MeteredInput, no_audio
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
