"""Safe serving by default: ASGI middleware for the app's `st.App` (Streamlit >= 1.67).

`streamlit run app.py` serves on 127.0.0.1 only (`server.address` in .streamlit/config.toml).
On top of that, `SafeServing` wraps every request the Starlette app answers:

- Host allow-list (against DNS rebinding: a page on evil.example whose name resolves to
  127.0.0.1 reaches the local server with `Host: evil.example`): only localhost, 127.0.0.1,
  ::1, the configured `server.address`, and the names the operator lists in
  LATENTLAB_ALLOWED_HOSTS (comma-separated, e.g. `lab.example.org,192.168.1.20`) are answered;
  anything else gets 400 (HTTP) or a refused handshake (WebSocket, HTTP 403).
- WebSocket Origin check: a browser's WebSocket to the app must come from the app's own origin
  (scheme, host and port of the Origin equal to the request's Host) or from an origin the
  operator lists in LATENTLAB_ALLOWED_ORIGINS (comma-separated, e.g. `https://lab.example.org`).
  Streamlit itself accepts any origin whose host is localhost, so a page on another local port
  could read the XSRF cookie (cookies ignore ports) and drive the app. Clients that send no
  Origin (not browsers) are let through: they cannot borrow a visitor's cookies.
- Framing: `Content-Security-Policy: frame-ancestors 'self'` and `X-Frame-Options: SAMEORIGIN`
  on every HTTP response (against click-jacking), plus `X-Content-Type-Options: nosniff`.

Exposing the app is a deliberate act: `streamlit run app.py --server.address 0.0.0.0` with
LATENTLAB_ALLOWED_HOSTS naming the host visitors use (see README, "Serving").
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

HOSTS_ENV = "LATENTLAB_ALLOWED_HOSTS"
ORIGINS_ENV = "LATENTLAB_ALLOWED_ORIGINS"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SECURITY_HEADERS = [
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
]
WILDCARDS = ("", "0.0.0.0", "::")


def allowed_hosts() -> set[str]:
    """Host names answered: loopback, the configured server.address, and LATENTLAB_ALLOWED_HOSTS."""
    hosts = set(LOCAL_HOSTS) | {_norm(h) for h in os.environ.get(HOSTS_ENV, "").split(",") if h.strip()}
    try:
        from streamlit import config

        address = config.get_option("server.address") or ""
    except Exception:  # noqa: BLE001 - outside a Streamlit process there is no config
        address = ""
    if _norm(address) not in WILDCARDS and not address.startswith("unix://"):
        hosts.add(_norm(address))
    return hosts


def allowed_origins() -> set[str]:
    """Extra origins (scheme://host[:port]) whose pages may open the app's WebSocket."""
    return {o.strip().rstrip("/").lower() for o in os.environ.get(ORIGINS_ENV, "").split(",") if o.strip()}


def _norm(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


def host_name(host_header: str | None) -> str | None:
    """The host name of a Host header ("127.0.0.1:8501" -> "127.0.0.1", "[::1]:80" -> "::1")."""
    if not host_header:
        return None
    try:
        return _norm(urlsplit(f"//{host_header}").hostname or "")
    except ValueError:
        return None


def same_origin(origin: str, host_header: str | None) -> bool:
    """Whether a browser Origin is exactly the origin the request was sent to."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host_header) and \
        parts.netloc.lower() == host_header.lower()


class SafeServing:
    """Pure ASGI middleware (no buffering, WebSockets pass through): Host allow-list,
    WebSocket Origin check, anti-framing headers. Hosts and origins are read per request from
    the environment and Streamlit's config, so tests and operators can change them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host")
        if host_name(host) not in allowed_hosts():
            return await _refuse(scope, send, f"host {host!r} is not served here; the operator "
                                              f"lists host names in {HOSTS_ENV}")
        origin = headers.get("origin")
        if scope["type"] == "websocket" and origin is not None and not (
                same_origin(origin, host) or origin.rstrip("/").lower() in allowed_origins()):
            return await _refuse(scope, send, "cross-origin WebSocket refused")
        if scope["type"] == "http":
            return await self.app(scope, receive, _with_headers(send))
        return await self.app(scope, receive, send)


def _with_headers(send):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)
    return wrapped


async def _refuse(scope, send, reason: str) -> None:
    """400 with a one-line reason for HTTP; for a WebSocket, close before accepting (the server
    answers the handshake with 403)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    body = (reason + "\n").encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


def middleware() -> list:
    """The middleware list for `st.App(..., middleware=serving.middleware())`."""
    from starlette.middleware import Middleware

    return [Middleware(SafeServing)]
