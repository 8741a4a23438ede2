"""The one settings schema: defaults, ranges, validation, storage and the settings panes.

Every field carries a title and a short description (shown as hints in the panes) and, in
``json_schema_extra``, how it applies: ``"apply": "live"`` (sent to a running session),
``"reconnect"`` (applies on next connect) or ``"restart"``; and UI hints: ``choices``,
``labels``, ``step``, ``multiline``, ``advanced``, ``requires`` (a protocol), and
``visible_when`` ({sibling field: value}: the row only matters in that mode). The UI builds its panes from
this module; nothing is hand-copied.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from azassist.core.pricing import DEFAULT_PRICE_TABLE, PRICES_AS_OF, parse_price_table

if TYPE_CHECKING:  # the MCP server model is built only when the user has a server (start-up time)
    from azassist.core.tools.mcp_config import McpServerSettings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

KNOWN_VOICES: tuple[str, ...] = (
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
)
TTS_VOICES: tuple[str, ...] = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _apply(how: Literal["live", "reconnect", "restart"], **extra: Any) -> dict[str, Any]:
    return {"apply": how, **extra}


class AuthMode(str, Enum):
    API_KEY = "api_key"
    ENTRA_ID = "entra_id"


class SignInMethod(str, Enum):
    """How a Microsoft Entra ID sign-in happens, in order of preference."""

    BROWSER = "browser"
    DEVICE_CODE = "device_code"
    AZURE_CLI = "azure_cli"


class Modalities(str, Enum):
    AUDIO = "audio"
    TEXT = "text"
    TEXT_AND_TTS = "text_tts"


class ResumeHistory(str, Enum):
    """How a continued conversation's earlier turns reach the model."""

    RECAP = "recap"
    EXACT = "exact"


class TurnMode(str, Enum):
    SERVER_VAD = "server_vad"
    SEMANTIC_VAD = "semantic_vad"
    PUSH_TO_TALK = "manual"


class Eagerness(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    AUTO = "auto"


class Theme(str, Enum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


class _Group(BaseModel):
    model_config = ConfigDict(validate_assignment=True, extra="ignore", use_enum_values=False)


def is_loopback_host(host: str | None) -> bool:
    return (host or "").lower().strip("[]") in LOOPBACK_HOSTS


def check_endpoint(value: str) -> str:
    """Azure endpoints must be https; plain http only for the local server on loopback."""
    value = value.strip().rstrip("/")
    if not value:
        return value
    parsed = urlparse(value)
    if parsed.scheme not in {"https", "wss", "http", "ws"} or not parsed.hostname:
        raise ValueError(
            "Enter the endpoint as a full address, like https://my-resource.openai.azure.com"
        )
    if parsed.scheme in {"http", "ws"} and not is_loopback_host(parsed.hostname):
        raise ValueError(
            "The endpoint must start with https:// so your key is never sent unencrypted "
            "(plain http is only allowed for the local server on this computer)"
        )
    return value


class ConnectionSettings(_Group):
    endpoint: str = Field(
        "",
        title="Endpoint",
        description="Your Azure OpenAI resource, e.g. https://my-resource.openai.azure.com",
        json_schema_extra=_apply("reconnect", placeholder="https://my-resource.openai.azure.com"),
    )
    deployment: str = Field(
        "",
        title="Realtime deployment",
        description="The name you gave the realtime model deployment in Azure AI Foundry",
        max_length=64,
        json_schema_extra=_apply("reconnect", placeholder="gpt-realtime"),
    )
    auth_mode: AuthMode = Field(
        AuthMode.API_KEY,
        title="Sign-in",
        description="An API key kept in the system keyring, or Microsoft Entra ID",
        json_schema_extra=_apply("reconnect", labels={"api_key": "API key", "entra_id": "Microsoft Entra ID"}),
    )
    entra_method: SignInMethod = Field(
        SignInMethod.BROWSER,
        title="Sign in with",
        description="Your web browser; a code typed on another device (no browser here); or the Azure CLI's 'az login'",
        json_schema_extra=_apply(
            "reconnect",
            labels={"browser": "Web browser", "device_code": "Device code", "azure_cli": "Azure CLI (az login)"},
            visible_when={"auth_mode": "entra_id"},
        ),
    )
    entra_tenant: str = Field(
        "organizations",
        title="Tenant",
        description="'organizations' for your own work account; a guest enters the resource's tenant ID or domain",
        max_length=128,
        json_schema_extra=_apply("reconnect", visible_when={"auth_mode": "entra_id"}),
    )
    entra_client_id: str = Field(
        "",
        title="Client ID",
        description="Empty: azure-identity's developer sign-in app. Or your organisation's own public client (see README)",
        max_length=64,
        json_schema_extra=_apply("reconnect", visible_when={"auth_mode": "entra_id"}, advanced=True),
    )
    # Who signed in last (azure-identity's AuthenticationRecord, serialized): account name,
    # tenant and authority, no token or secret. Never shown: visible_when names no real mode.
    entra_record: str = Field(
        "",
        title="Saved sign-in",
        description="The account signed in last (not a secret)",
        max_length=4096,
        json_schema_extra=_apply("reconnect", hidden=True, visible_when={"auth_mode": "never"}),
    )
    api_version: str = Field(
        "",
        title="Legacy API version",
        description="Leave empty for the current (GA) protocol. Only set this for a preview deployment, e.g. 2025-04-01-preview",
        json_schema_extra=_apply("reconnect", advanced=True),
    )
    transcription_deployment: str = Field(
        "",
        title="Transcription deployment",
        description="A speech-to-text deployment (e.g. gpt-4o-transcribe) for your words in the transcript; empty turns it off",
        json_schema_extra=_apply("live"),
    )
    tts_deployment: str = Field(
        "",
        title="Text-to-speech deployment",
        description="Used only with 'Text + separate voice' replies",
        json_schema_extra=_apply("reconnect"),
    )
    reply_timeout_s: int = Field(
        20,
        ge=5,
        le=300,
        title="Give up on a silent reply after (s)",
        description=(
            "A reply the service stops sending for this long is marked incomplete and the "
            "connection is made again, keeping the conversation"
        ),
        json_schema_extra=_apply("live", advanced=True),
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return check_endpoint(value)

    @field_validator("deployment", "transcription_deployment", "tts_deployment", "api_version", "entra_tenant", "entra_client_id")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if any(ch.isspace() for ch in value):
            raise ValueError("Names cannot contain spaces")
        return value

    @property
    def host(self) -> str:
        return urlparse(self.endpoint).hostname or ""

    @property
    def is_configured(self) -> bool:
        return bool(self.endpoint and self.deployment)

    @property
    def uses_preview_protocol(self) -> bool:
        return bool(self.api_version)


class VoiceSettings(_Group):
    voice: str = Field(
        "marin",
        title="Voice",
        description=(
            "marin and cedar sound most natural. The voice cannot change after the assistant "
            "has spoken; it applies on the next connect"
        ),
        min_length=1,
        max_length=40,
        json_schema_extra=_apply("reconnect", choices=list(KNOWN_VOICES), editable=True),
    )
    speed: float = Field(
        1.0,
        ge=0.25,
        le=1.5,
        title="Speaking speed",
        description="1.0 is normal; from 0.25 (slow) to 1.5 (fast)",
        json_schema_extra=_apply("live", step=0.05),
    )

    @field_validator("voice")
    @classmethod
    def _voice(cls, value: str) -> str:
        value = value.strip()
        if not value.replace("-", "").replace("_", "").isalnum():
            raise ValueError("A voice name is a single word such as marin")
        return value


class ModelSettings(_Group):
    instructions: str = Field(
        "You are a helpful, friendly voice assistant. Keep answers short and conversational.",
        title="Instructions",
        description="How the assistant should behave; applies from the next reply",
        max_length=20_000,
        json_schema_extra=_apply("live", multiline=True),
    )
    temperature: float = Field(
        0.8,
        ge=0.6,
        le=1.2,
        title="Temperature",
        description="Higher is more varied. Only the legacy preview protocol accepts it",
        json_schema_extra=_apply("live", step=0.05, requires="preview"),
    )
    modalities: Modalities = Field(
        Modalities.AUDIO,
        title="Replies",
        description="Spoken replies; text only; or text spoken by a separate text-to-speech deployment",
        json_schema_extra=_apply(
            "reconnect",
            labels={"audio": "Voice", "text": "Text only", "text_tts": "Text + separate voice (TTS)"},
        ),
    )
    tts_voice: str = Field(
        "alloy",
        title="TTS voice",
        description="Voice of the separate text-to-speech deployment",
        json_schema_extra=_apply(
            "reconnect", choices=list(TTS_VOICES), editable=True, visible_when={"modalities": "text_tts"}
        ),
    )
    resume_history: ResumeHistory = Field(
        ResumeHistory.RECAP,
        title="Continued conversations",
        description=(
            "How the model learns a continued conversation's earlier turns: a recap in its instructions "
            "(replies stay spoken), or the exact turns as history, which makes the service answer in text, "
            "so it uses the text + separate voice mode and needs a text-to-speech deployment"
        ),
        json_schema_extra=_apply(
            "live",
            labels={"recap": "Recap in the instructions", "exact": "Exact history (text + separate voice)"},
        ),
    )
    recap_chars: int = Field(
        6000,
        ge=500,
        le=50_000,
        title="Recap length (characters)",
        description="Longest recap of earlier turns; the most recent turns are kept whole, older ones cut",
        json_schema_extra=_apply("live", step=500, visible_when={"resume_history": "recap"}),
    )
    history_items: int = Field(
        20,
        ge=2,
        le=100,
        title="Earlier turns loaded",
        description="Most recent turns loaded as exact history (the service must take them all within 5 s)",
        json_schema_extra=_apply("live", visible_when={"resume_history": "exact"}),
    )


class TurnDetectionSettings(_Group):
    mode: TurnMode = Field(
        TurnMode.SERVER_VAD,
        title="Turn detection",
        description="Hands-free by loudness (server VAD), by meaning (semantic VAD, less reliable on Azure), or push-to-talk only",
        json_schema_extra=_apply(
            "live",
            labels={"server_vad": "Server VAD (hands-free)", "semantic_vad": "Semantic VAD", "manual": "Push-to-talk only"},
        ),
    )
    threshold: float = Field(
        0.5, ge=0.0, le=1.0, title="Threshold",
        description="How loud speech must be to count. Raise it in noisy rooms",
        json_schema_extra=_apply("live", step=0.05, visible_when={"mode": "server_vad"}),
    )
    prefix_padding_ms: int = Field(
        300, ge=0, le=2000, title="Prefix padding (ms)",
        description="Audio kept from just before speech starts, so first syllables are not cut",
        json_schema_extra=_apply("live", step=50, visible_when={"mode": "server_vad"}),
    )
    silence_duration_ms: int = Field(
        500, ge=100, le=5000, title="Silence duration (ms)",
        description="How long a pause ends your turn. Raise it if you get cut off mid-sentence",
        json_schema_extra=_apply("live", step=50, visible_when={"mode": "server_vad"}),
    )
    create_response: bool = Field(
        True, title="Reply automatically",
        description="Answer as soon as you stop speaking",
        json_schema_extra=_apply("live"),
    )
    interrupt_response: bool = Field(
        True, title="Let me interrupt",
        description="Speaking while the assistant talks stops it (barge-in)",
        json_schema_extra=_apply("live"),
    )
    eagerness: Eagerness = Field(
        Eagerness.AUTO, title="Eagerness",
        description="Semantic VAD: how quickly it decides you have finished",
        json_schema_extra=_apply("live", visible_when={"mode": "semantic_vad"}),
    )


class AudioSettings(_Group):
    input_device: str = Field(
        "", title="Microphone", description="Empty uses the system default",
        json_schema_extra=_apply("live", devices="input"),
    )
    output_device: str = Field(
        "", title="Speaker", description="Empty uses the system default",
        json_schema_extra=_apply("live", devices="output"),
    )
    echo_cancellation: bool = Field(
        True, title="Echo cancellation",
        description="Keeps the assistant from hearing itself through your speakers",
        json_schema_extra=_apply("live"),
    )
    noise_suppression: bool = Field(
        True, title="Noise suppression", description="Reduces steady background noise",
        json_schema_extra=_apply("live"),
    )
    auto_gain: bool = Field(
        True, title="Automatic gain", description="Evens out your microphone level (paused while the assistant speaks)",
        json_schema_extra=_apply("live"),
    )


class UiSettings(_Group):
    push_to_talk_key: str = Field(
        "Space", title="Push-to-talk key",
        description="Hold it to talk (when the message box is not focused)",
        min_length=1, max_length=40,
        json_schema_extra=_apply("live", widget="key"),
    )
    start_minimised: bool = Field(
        False, title="Start minimised to tray", description="Open in the system tray",
        json_schema_extra=_apply("restart"),
    )
    keep_in_tray: bool = Field(
        False, title="Keep running in the tray", description="Closing the window hides it instead of quitting",
        json_schema_extra=_apply("live"),
    )
    theme: Theme = Field(
        Theme.SYSTEM, title="Theme", description="Follow the system, or force light or dark",
        json_schema_extra=_apply("live", labels={"system": "System", "light": "Light", "dark": "Dark"}),
    )
    global_push_to_talk: bool = Field(
        False, title="Global push-to-talk key",
        description="Hold a key to talk while another application is in front (push-to-talk mode)",
        json_schema_extra=_apply("live"),
    )
    global_push_to_talk_key: str = Field(
        "Pause", title="Global key",
        description="Only listened to: it still reaches the application in front, so choose one that does nothing "
        "there (Pause, Scroll Lock, F13)",
        min_length=1, max_length=40,
        json_schema_extra=_apply("live", widget="key", visible_when={"global_push_to_talk": True}),
    )
    global_push_to_talk_earcon: bool = Field(
        True, title="Start and stop sounds", description="A quiet tone when the global key opens and closes the microphone",
        json_schema_extra=_apply("live", visible_when={"global_push_to_talk": True}),
    )
    global_push_to_talk_max_hold_s: float = Field(
        60.0, ge=5.0, le=600.0, title="Longest hold (s)",
        description="A turn held longer is sent, so the microphone never stays open by accident",
        json_schema_extra=_apply("live", step=5.0, visible_when={"global_push_to_talk": True}),
    )


class HistorySettings(_Group):
    """Saved conversations: how long they are kept, and what talking costs (issue 20)."""

    keep_days: int = Field(
        0, ge=0, le=36_500, title="Keep conversations for (days)",
        description="0 keeps them forever. When azassist starts, older ones go to the system trash (deleted where there is none)",
        json_schema_extra=_apply("restart"),
    )
    prices: str = Field(
        DEFAULT_PRICE_TABLE, title="Prices (USD per 1M tokens)",
        description=(
            "For the cost estimates: one deployment or model a line, then text in, cached text in, text out, "
            f"audio in, cached audio in, audio out. Defaults: Azure's list prices as of {PRICES_AS_OF}"
        ),
        max_length=20_000,
        json_schema_extra=_apply("live", multiline=True, advanced=True),
    )

    @field_validator("prices")
    @classmethod
    def _prices(cls, value: str) -> str:
        parse_price_table(value)
        return value


class ToolsSettings(_Group):
    """What the assistant may do besides talking (issue 21). Calls that read private data or
    change something ask first; the MCP servers are edited in their own list on this pane."""

    clock: bool = Field(
        True, title="Date, time and time zones", description="The assistant can look at the clock, here or anywhere",
        json_schema_extra=_apply("reconnect"),
    )
    timers: bool = Field(
        True, title="Timers and reminders",
        description="Set, list and cancel; when one goes off you get a notification and the assistant says it",
        json_schema_extra=_apply("reconnect"),
    )
    clipboard: bool = Field(
        True, title="Clipboard", description="Read what you copied and copy text for you (asks first)",
        json_schema_extra=_apply("reconnect"),
    )
    open_url: bool = Field(
        True, title="Open web addresses", description="Open a page in your browser (asks first)",
        json_schema_extra=_apply("reconnect"),
    )
    # Kept as plain data, each validated by azassist.core.tools.mcp_config.McpServerSettings:
    # that model is built only when there is a server (``servers`` gives them as models).
    mcp_servers: list[dict[str, Any]] = Field(
        default_factory=list, title="MCP servers", description="Programs and web services that give the assistant more tools",
        json_schema_extra=_apply("reconnect", widget="custom"),
    )

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _servers(cls, value: Any) -> list[dict[str, Any]]:
        if not value:
            return []
        if not isinstance(value, list):
            raise ValueError("expected a list of MCP servers")
        from azassist.core.tools.mcp_config import McpServerSettings

        servers: list[McpServerSettings] = []
        for number, raw in enumerate(value, start=1):
            try:
                servers.append(raw if isinstance(raw, McpServerSettings) else McpServerSettings.model_validate(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"MCP server {number}: {where}: {str(first['msg']).removeprefix('Value error, ')}") from None
        names = [s.name.lower() for s in servers]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ValueError(f"two MCP servers are called '{duplicate}'; give each its own name")
        return [s.model_dump(mode="json") for s in servers]

    @property
    def servers(self) -> list[McpServerSettings]:
        """The MCP servers as models (validated when the settings were)."""
        if not self.mcp_servers:
            return []
        from azassist.core.tools.mcp_config import McpServerSettings

        return [McpServerSettings.model_validate(raw) for raw in self.mcp_servers]


class Settings(BaseModel):
    """Everything the user can set. Secrets are never part of it (they live in the keyring)."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION
    connection: ConnectionSettings = Field(default_factory=ConnectionSettings, title="Connection")
    voice: VoiceSettings = Field(default_factory=VoiceSettings, title="Voice")
    model: ModelSettings = Field(default_factory=ModelSettings, title="Model")
    turn_detection: TurnDetectionSettings = Field(default_factory=TurnDetectionSettings, title="Turn detection")
    audio: AudioSettings = Field(default_factory=AudioSettings, title="Audio")
    ui: UiSettings = Field(default_factory=UiSettings, title="Interface")
    history: HistorySettings = Field(default_factory=HistorySettings, title="Conversations")
    tools: ToolsSettings = Field(default_factory=ToolsSettings, title="Tools")


GROUPS: tuple[str, ...] = ("connection", "voice", "model", "turn_detection", "audio", "ui", "history", "tools")


def describe_error(error: ValidationError) -> list[str]:
    """Plain one-line messages, each naming the setting by its title."""
    messages = []
    for item in error.errors():
        titles = []
        model: type[BaseModel] | None = Settings
        for part in item["loc"]:
            if model is None or not isinstance(part, str) or part not in model.model_fields:
                titles.append(str(part))
                model = None
                continue
            info = model.model_fields[part]
            titles.append(info.title or part)
            annotation = info.annotation
            model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        message = str(item["msg"]).removeprefix("Value error, ")
        messages.append(f"{' › '.join(titles)}: {message}")
    return messages


def field_apply_mode(group: str, name: str) -> str:
    """'live', 'reconnect' or 'restart' for one setting."""
    group_model = Settings.model_fields[group].annotation
    assert isinstance(group_model, type) and issubclass(group_model, BaseModel)
    extra = group_model.model_fields[name].json_schema_extra
    return str(extra.get("apply", "reconnect")) if isinstance(extra, dict) else "reconnect"


@dataclass
class LoadResult:
    settings: Settings
    notices: list[str] = field(default_factory=list)
    moved_aside: Path | None = None


class SettingsStore:
    """Reads and writes the settings file; a bad file is kept aside, never lost or fatal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, raw: object = None) -> LoadResult:
        """``raw``: the file's JSON when the caller has just parsed it (start-up reads the
        file once, before the first paint); otherwise the file is read here."""
        if raw is None and not self.path.exists():
            return LoadResult(Settings())
        try:
            if raw is None:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("the file does not hold a settings object")
            if int(raw.get("schema_version", SCHEMA_VERSION)) > SCHEMA_VERSION:
                raise ValueError("it was written by a newer version of azassist")
            return LoadResult(Settings.model_validate(raw))
        except (OSError, UnicodeDecodeError, ValueError, ValidationError) as exc:
            reason = "; ".join(describe_error(exc)) if isinstance(exc, ValidationError) else str(exc)
            aside = self._move_aside()
            notice = (
                f"Your settings file could not be read ({reason}). It was kept as "
                f"{aside.name if aside else self.path.name} and default settings are in use."
            )
            log.warning("settings: %s", notice)
            return LoadResult(Settings(), [notice], aside)

    def _move_aside(self) -> Path | None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.invalid-{stamp}")
        counter = 1
        while target.exists():
            counter += 1
            target = self.path.with_name(f"{self.path.name}.invalid-{stamp}-{counter}")
        try:
            self.path.replace(target)
            return target
        except OSError:
            log.exception("could not move the invalid settings file aside")
            return None

    def save(self, settings: Settings) -> None:
        """Atomic write: a crash mid-save leaves the previous file intact."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = settings.model_dump_json(indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def with_value(settings: Settings, group: str, name: str, value: Any) -> Settings:
    """A copy with one field changed, validated (raises ValidationError with the message)."""
    data = settings.model_dump()
    data[group][name] = value
    return Settings.model_validate(data)
