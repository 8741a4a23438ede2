"""The engine's state words: connection, activity and kinds of error.

Kept apart from the event classes in ``events``: the window draws its first frame with these
and builds the event dataclasses (~6 ms, measured) after it.
"""

from __future__ import annotations

from enum import Enum


class ConnectionState(str, Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


class Activity(str, Enum):
    """What is happening in the conversation right now (meaningful while connected)."""

    IDLE = "idle"
    LISTENING = "listening"
    USER_SPEAKING = "user_speaking"
    THINKING = "thinking"
    ASSISTANT_SPEAKING = "assistant_speaking"


class ErrorKind(str, Enum):
    AUTH = "auth"  # key or token rejected (401/403, invalid_api_key)
    NOT_FOUND = "not_found"  # no such deployment at this endpoint (404)
    DNS = "dns"  # endpoint host not found
    UNREACHABLE = "unreachable"  # refused, timed out, network down
    TLS = "tls"  # certificate or TLS failure
    QUOTA = "quota"  # quota, rate limit, billing
    SERVER = "server"  # an error event from the service, with its own message
    CONFIG = "config"  # our settings are incomplete or invalid
    AUDIO = "audio"  # microphone or speaker trouble
    KEYRING = "keyring"  # credentials could not be read or stored
    INTERNAL = "internal"  # a bug: details in the log
