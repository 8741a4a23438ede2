"""The local realtime server: routes, Azure-style auth, loopback-only binding, recording."""

from __future__ import annotations

import hmac
import json
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from aiohttp import web

from .config import SimulatorConfig
from .faults import Faults
from .net import LoopbackOnlyError, resolve_loopback
from .protocol import Dialect
from .responders import Responder, ScriptedResponder, make_responder
from .session import RealtimeConnection
from .tts import SpeechRequestError, parse_speech_request, speech_response
from .validation import EventValidator, Violation
from .wire import WireLog

logger = logging.getLogger(__name__)

__all__ = ["Handshake", "LocalRealtimeServer", "LoopbackOnlyError"]

# Bodies shaped like Azure's (the LiveKit client loses them, the TTS client shows them).
_UNAUTHORIZED = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make "
        "sure to provide a valid key for an active subscription and use a correct regional API "
        "endpoint for your resource.",
    }
}
_DEPLOYMENT_NOT_FOUND = {
    "error": {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist. If you created the "
        "deployment within the last 5 minutes, please wait a moment and try again.",
    }
}
_NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}
_FORBIDDEN = {
    "error": {
        "code": "PermissionDenied",
        "message": "The principal lacks the required data action "
        "Microsoft.CognitiveServices/accounts/OpenAI/deployments/realtime/action.",
    }
}


@dataclass(frozen=True)
class Handshake:
    """What one request offered as credentials (never the values), and the answer's status."""

    path: str
    api_key_sent: bool
    bearer_sent: bool
    status: int


class LocalRealtimeServer:
    """An Azure OpenAI realtime endpoint on 127.0.0.1 for tests, the demo and the audio check.

    Use ``async with LocalRealtimeServer(api_key="k") as server`` or ``await start()`` /
    ``await stop()``; pass ``server.endpoint`` as ``azure_endpoint`` to ``with_azure``.
    Keyword arguments override fields of ``config`` (see :class:`SimulatorConfig`).
    """

    def __init__(self, config: SimulatorConfig | None = None, **overrides: Any) -> None:
        if config is None:
            config = SimulatorConfig(**overrides)
        elif overrides:
            config = replace(config, **overrides)
        self.config = config
        self.host = resolve_loopback(config.host)
        self.responder: Responder = make_responder(config.responder)
        self.received = WireLog(config.record_limit)
        self.sent = WireLog(config.record_limit)
        self.sessions: list[RealtimeConnection] = []
        self.faults = Faults(lambda: self.live_sessions)
        self._validator = EventValidator() if config.strict_validation else None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        # Entra ID: verifies a bearer token it can check (the tests' local authority), giving
        # the HTTP status to answer (200 accepts, 401 bad or expired, 403 no role). None: a
        # bearer must carry the API key, as before.
        self.bearer_check: Callable[[str], int] | None = None
        self.handshakes: list[Handshake] = []

    def __repr__(self) -> str:
        return f"<LocalRealtimeServer {self.endpoint if self._port else 'stopped'}>"

    # ------------------------------------------------------------------ views

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not running")
        return self._port

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, the ``azure_endpoint`` for ``RealtimeModel.with_azure``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def live_sessions(self) -> list[RealtimeConnection]:
        return [s for s in self.sessions if not s.closed]

    @property
    def scripted(self) -> ScriptedResponder:
        """The scripted responder, to queue replies, transcripts and errors."""
        if not isinstance(self.responder, ScriptedResponder):
            raise TypeError(f"the responder is {self.responder.name!r}, not 'scripted'")
        return self.responder

    @property
    def violations(self) -> list[Violation]:
        """Events that failed the official schemas (only with strict validation on)."""
        return list(self._validator.violations) if self._validator else []

    async def wait_for_session(self, timeout: float = 10.0) -> RealtimeConnection:
        """The first session that connects (or the first one already there)."""
        await self.sent.wait_for(lambda e: e.type == "session.created", timeout=timeout)
        return self.sessions[0]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> LocalRealtimeServer:
        if self._runner is not None:
            return self
        app = web.Application()
        app.router.add_get("/openai/v1/realtime", self._realtime_ga)
        app.router.add_get("/openai/realtime", self._realtime_preview)
        app.router.add_post("/openai/deployments/{deployment}/audio/speech", self._speech)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.config.port))
            sock.listen(128)
            sock.setblocking(False)
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._port = sock.getsockname()[1]
        self._runner = runner
        logger.info("realtime simulator listening on %s", self.endpoint)
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        for session in self.live_sessions:
            session.close(1001, "server shutting down")
        await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> LocalRealtimeServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP

    def _authorized(self, request: web.Request) -> int:
        """Azure accepts ``api-key`` or ``Authorization: Bearer``; here both carry the key,
        unless ``bearer_check`` verifies bearer tokens. The HTTP status to answer (200: ok);
        every request is recorded in ``handshakes`` (whether an api-key header came along)."""
        api_key = request.headers.get("api-key")
        authorization = request.headers.get("Authorization", "")
        bearer = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else None
        if bearer is not None and self.bearer_check is not None and api_key is None:
            status = self.bearer_check(bearer)
        else:
            offered = api_key if api_key is not None else bearer
            expected = self.config.api_key.encode()
            ok = offered is not None and hmac.compare_digest(offered.encode(), expected)
            status = 200 if ok else 401
        self.handshakes.append(Handshake(request.path, api_key is not None, bearer is not None, status))
        return status

    def _auth_refusal(self, request: web.Request) -> web.Response | None:
        status = self._authorized(request)
        if status == 403:
            return web.json_response(_FORBIDDEN, status=403)
        if status != 200:
            return web.json_response(_UNAUTHORIZED, status=401)
        return None

    def _refusal(
        self, request: web.Request, deployment: str | None, known: Sequence[str]
    ) -> web.Response | None:
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        if deployment is None:
            return web.json_response(_NOT_FOUND, status=404)
        if deployment not in known:
            return web.json_response(_DEPLOYMENT_NOT_FOUND, status=404)
        return None

    async def _realtime_ga(self, request: web.Request) -> web.StreamResponse:
        return await self._realtime(request, Dialect.GA, request.query.get("model"))

    async def _realtime_preview(self, request: web.Request) -> web.StreamResponse:
        if not request.query.get("api-version"):
            return web.json_response(_NOT_FOUND, status=404)
        return await self._realtime(request, Dialect.PREVIEW, request.query.get("deployment"))

    async def _realtime(
        self, request: web.Request, dialect: Dialect, deployment: str | None
    ) -> web.StreamResponse:
        refusal = self._refusal(request, deployment, self.config.deployments)
        if refusal is not None:
            return refusal
        rejection = self.faults.take_rejection()
        if rejection is not None:
            return web.json_response(
                {"error": {"code": rejection.code, "message": rejection.message}},
                status=rejection.status,
            )
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=16 * 1024 * 1024)
        if not ws.can_prepare(request).ok:
            return web.json_response(
                {"error": {"code": "400", "message": "Expected a WebSocket upgrade."}}, status=400
            )
        await ws.prepare(request)
        assert deployment is not None
        session = RealtimeConnection(
            ws=ws,
            request=request,
            dialect=dialect,
            deployment=deployment,
            settings=self.config,
            responder=self.responder,
            faults=self.faults,
            received=self.received,
            sent=self.sent,
            validator=self._validator,
        )
        self.sessions.append(session)
        try:
            await session.run()
        finally:
            session.closed = True
        return ws

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        deployment = request.match_info["deployment"]
        refusal = self._refusal(request, deployment, self.config.tts_deployments)
        if refusal is not None:
            return refusal
        if not request.query.get("api-version"):
            return web.json_response(_NOT_FOUND, status=404)
        try:
            body = await request.json()
            speech_request = parse_speech_request(body)
        except (json.JSONDecodeError, SpeechRequestError) as exc:
            param = getattr(exc, "param", None)
            return web.json_response(
                {
                    "error": {
                        "message": str(exc),
                        "type": "invalid_request_error",
                        "param": param,
                        "code": None,
                    }
                },
                status=400,
            )
        return await speech_response(request, speech_request)

    async def _not_found(self, request: web.Request) -> web.Response:
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        return web.json_response(_NOT_FOUND, status=404)
