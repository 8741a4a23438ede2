"""A local Microsoft Entra ID authority on 127.0.0.1 over HTTPS, for the real azure-identity.

Speaks the parts of the v2.0 endpoints that MSAL uses for a public client: OpenID discovery,
``authorize`` (auth code + PKCE, redirecting to the loopback redirect URI), ``token`` (auth
code, device code polling, refresh token) and ``devicecode``. Tokens are JWT-shaped (HS256
with a key only this authority knows) with ``exp``, ``oid``, ``upn``, ``tid``; ``verify``
checks one the way the realtime service would (issuer, audience, expiry, role).

The TLS certificate is signed by a throw-away CA; ``ca_path`` is the PEM a test trusts.
Knobs (set before the step they affect): ``lifetime_s``, ``authorize_error``,
``token_error``, ``refresh_error``, ``role_holders``, ``auto_approve``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

AUDIENCE = "https://cognitiveservices.azure.com"
TENANT_ID = "11111111-2222-3333-4444-555555555555"


@dataclass
class User:
    name: str = "Ada Lovelace"
    upn: str = "ada@contoso.example"
    oid: str = "aaaaaaaa-0000-0000-0000-000000000001"
    tid: str = TENANT_ID


@dataclass
class Counters:
    discovery: int = 0
    authorize: int = 0
    auth_code: int = 0
    device_code: int = 0
    device_polls: int = 0
    refresh: int = 0
    issued: list[str] = field(default_factory=list)  # jti of every access token
    secrets: list[str] = field(default_factory=list)  # every token it gave out, to look for leaks


def _write_ca_and_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost it signed."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azassist test authority CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeAuthority:
    """Start with ``FakeAuthority(tmp_path).start()``; ``url`` is the authority host to configure."""

    def __init__(self, folder: Path, *, lifetime_s: int = 3600) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_path, self._cert, self._key = _write_ca_and_cert(folder)
        self.user = User()
        self.lifetime_s = lifetime_s
        self.authorize_error: tuple[str, str] | None = None  # (error, description) sent to the redirect URI
        self.token_error: tuple[str, str] | None = None  # for auth code and device code grants
        self.refresh_error: tuple[str, str] | None = None  # for the refresh grant
        self.role_holders: set[str] | None = None  # oids with the OpenAI User role; None: everyone
        self.auto_approve = True  # a device code is approved at its first poll
        self.counters = Counters()
        self.device_prompts: list[dict[str, Any]] = []
        self._signing_key = secrets.token_bytes(32)
        self._codes: dict[str, dict[str, Any]] = {}
        self._devices: dict[str, dict[str, Any]] = {}
        self._refresh_tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeAuthority:
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                authority._handle(self, "GET")

            def do_POST(self) -> None:
                authority._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert, self._key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # --- what the realtime server asks ----------------------------------------------------

    def verify(self, token: str) -> int:
        """The HTTP status a resource would answer for this bearer token."""
        try:
            claims = jwt.decode(token, self._signing_key, algorithms=["HS256"], audience=AUDIENCE, leeway=0)
        except jwt.PyJWTError:
            return 401
        if claims.get("iss") != f"https://sts.windows.net/{self.user.tid}/":
            return 401
        if self.role_holders is not None and claims.get("oid") not in self.role_holders:
            return 403
        return 200

    def mint(self) -> dict[str, Any]:
        """A token response as the Azure CLI would have got it at 'az login'."""
        return self._tokens("04b07795-8ddb-461a-bbee-02f9e1bf7b46", "", "")

    def approve(self, user_code: str) -> None:
        with self._lock:
            for device in self._devices.values():
                if device["user_code"] == user_code:
                    device["approved"] = True

    # --- HTTP -----------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(request.path)
        parts = [part for part in parsed.path.split("/") if part]
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        form: dict[str, str] = {}
        if method == "POST":
            length = int(request.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(request.rfile.read(length).decode()).items()}
        if parts == ["devicelogin"] and method == "POST":  # the user types the code on the sign-in page
            self.approve(form.get("otc", ""))
            return self._json(request, 200, {"approved": form.get("otc", "")})
        if len(parts) < 2:
            return self._json(request, 404, {"error": "not_found"})
        tenant, rest = parts[0], "/".join(parts[1:])
        if rest == "v2.0/.well-known/openid-configuration":
            self.counters.discovery += 1
            return self._json(request, 200, self._discovery(tenant))
        if rest == "oauth2/v2.0/authorize":
            return self._authorize(request, query)
        if rest == "oauth2/v2.0/devicecode" and method == "POST":
            return self._devicecode(request, tenant, form)
        if rest == "oauth2/v2.0/token" and method == "POST":
            return self._token(request, form)
        return self._json(request, 404, {"error": "not_found"})

    def _discovery(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        return {
            "issuer": f"{self.url}/{self.user.tid}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "offline_access"],
            "tenant_region_scope": None,
        }

    def _authorize(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        self.counters.authorize += 1
        redirect = query.get("redirect_uri", "")
        state = query.get("state", "")
        if self.authorize_error is not None:
            error, description = self.authorize_error
            params = {"error": error, "error_description": description, "state": state}
        else:
            code = secrets.token_urlsafe(16)
            with self._lock:
                self._codes[code] = {
                    "challenge": query.get("code_challenge", ""),
                    "nonce": query.get("nonce", ""),
                    "client_id": query.get("client_id", ""),
                    "redirect_uri": redirect,
                }
            params = {"code": code, "state": state}
        request.send_response(302)
        request.send_header("Location", f"{redirect}?{urlencode(params)}")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _devicecode(self, request: BaseHTTPRequestHandler, tenant: str, form: dict[str, str]) -> None:
        self.counters.device_code += 1
        device_code = secrets.token_urlsafe(24)
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        verification_uri = f"{self.url}/devicelogin"
        with self._lock:
            self._devices[device_code] = {"user_code": user_code, "client_id": form.get("client_id", ""), "approved": False}
        body = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "expires_in": 900,
            "interval": 1,
            "message": f"To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code}.",
        }
        self.device_prompts.append(body)
        self._json(request, 200, body)

    def _token(self, request: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        grant = form.get("grant_type", "")
        client_id = form.get("client_id", "")
        nonce = ""
        if grant == "authorization_code":
            self.counters.auth_code += 1
            with self._lock:
                code = self._codes.pop(form.get("code", ""), None)
            if code is None:
                return self._error(request, "invalid_grant", "AADSTS70008: The provided authorization code is invalid.")
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != code["challenge"]:
                return self._error(request, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge.")
            if form.get("redirect_uri") != code["redirect_uri"]:
                return self._error(request, "invalid_grant", "AADSTS50011: The redirect URI does not match.")
            if self.token_error is not None:
                return self._error(request, *self.token_error)
            nonce = code["nonce"]
        elif grant == "urn:ietf:params:oauth:grant-type:device_code":
            self.counters.device_polls += 1
            with self._lock:
                device = self._devices.get(form.get("device_code", ""))
                if device is not None and self.auto_approve:
                    device["approved"] = True
            if device is None:
                return self._error(request, "expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' is not valid.")
            if not device["approved"]:
                return self._error(request, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.")
            if self.token_error is not None:
                return self._error(request, *self.token_error)
            with self._lock:
                self._devices.pop(form.get("device_code", ""), None)
        elif grant == "refresh_token":
            self.counters.refresh += 1
            if self.refresh_error is not None:
                return self._error(request, *self.refresh_error)
            with self._lock:
                known = form.get("refresh_token", "") in self._refresh_tokens
            if not known:
                return self._error(request, "invalid_grant", "AADSTS9002313: Invalid request. The refresh token is malformed or invalid.")
        else:
            return self._error(request, "unsupported_grant_type", f"AADSTS70003: grant {grant!r} is not supported.")
        self._json(request, 200, self._tokens(client_id, nonce, form.get("scope", "")))

    def _tokens(self, client_id: str, nonce: str, scope: str) -> dict[str, Any]:
        now = int(time.time())
        user = self.user
        jti = uuid.uuid4().hex
        self.counters.issued.append(jti)
        access = jwt.encode(
            {
                "aud": AUDIENCE,
                "iss": f"https://sts.windows.net/{user.tid}/",
                "iat": now,
                "nbf": now,
                "exp": now + self.lifetime_s,
                "oid": user.oid,
                "tid": user.tid,
                "upn": user.upn,
                "name": user.name,
                "scp": "user_impersonation",
                "jti": jti,
            },
            self._signing_key,
            algorithm="HS256",
        )
        id_claims = {
            "aud": client_id,
            "iss": f"{self.url}/{user.tid}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "oid": user.oid,
            "sub": user.oid,
            "tid": user.tid,
            "preferred_username": user.upn,
            "name": user.name,
        }
        if nonce:
            id_claims["nonce"] = nonce
        id_token = f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(id_claims)}.sig"
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh_tokens.add(refresh)
        self.counters.secrets += [access, refresh]
        return {
            "token_type": "Bearer",
            "scope": scope or f"{AUDIENCE}/.default",
            "expires_in": self.lifetime_s,
            "ext_expires_in": self.lifetime_s,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
            "client_info": _b64url({"uid": user.oid, "utid": user.tid}),
        }

    def _error(self, request: BaseHTTPRequestHandler, error: str, description: str) -> None:
        codes = [int(description[6:].split(":")[0])] if description.startswith("AADSTS") else []
        self._json(request, 400, {"error": error, "error_description": description, "error_codes": codes})

    @staticmethod
    def _json(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
