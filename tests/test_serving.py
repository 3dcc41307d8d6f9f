"""Safe serving: loopback only, a Host allow-list, same-origin WebSockets, no framing by others.

The first tests drive latentlab.serving.SafeServing as a plain ASGI app (fast); the last starts
the real app (`streamlit run app.py`, as tests/browser_helpers.Server does) and speaks raw HTTP
and WebSocket handshakes to it.
"""

import asyncio
import socket
import urllib.request

import pytest
from browser_helpers import Server

from latentlab import serving


async def _echo_app(scope, receive, send):
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(kind: str, host: str, origin: str | None = None) -> list[dict]:
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(serving.SafeServing(_echo_app)({"type": kind, "headers": headers}, receive, send))
    return sent


@pytest.fixture(autouse=True)
def _no_operator_lists(monkeypatch):
    monkeypatch.delenv(serving.HOSTS_ENV, raising=False)
    monkeypatch.delenv(serving.ORIGINS_ENV, raising=False)


@pytest.mark.parametrize("host", ["127.0.0.1:8501", "localhost:8501", "LOCALHOST", "[::1]:8501", "localhost."])
def test_loopback_hosts_are_served_with_anti_framing_headers(host):
    start = _call("http", host)[0]
    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"content-security-policy"] == b"frame-ancestors 'self'"
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8501", "127.0.0.1.evil.example", "", "[::2]:80",
                                  "localhost:8501@evil.example", "10.0.0.5:8501"])
def test_other_hosts_are_refused(host):
    sent = _call("http", host)
    assert sent[0]["status"] == 400 and b"is not served here" in sent[1]["body"]
    assert _call("websocket", host)[0]["type"] == "websocket.close"


def test_the_operator_can_list_a_host_and_an_origin(monkeypatch):
    monkeypatch.setenv(serving.HOSTS_ENV, "lab.example.org, 10.0.0.5")
    assert _call("http", "lab.example.org")[0]["status"] == 200
    assert _call("http", "10.0.0.5:8501")[0]["status"] == 200
    assert _call("websocket", "lab.example.org", "https://other.example.org")[0]["type"] == "websocket.close"
    monkeypatch.setenv(serving.ORIGINS_ENV, "https://other.example.org")
    assert _call("websocket", "lab.example.org", "https://other.example.org")[0]["type"] == "websocket.accept"


@pytest.mark.parametrize("origin,accepted", [
    ("http://127.0.0.1:8501", True), (None, True),  # same origin; a non-browser client
    ("http://127.0.0.1:9999", False), ("http://localhost:8501", False), ("https://127.0.0.1:8501", True),
    ("null", False), ("http://evil.example", False), ("file://", False),
])
def test_websockets_must_come_from_the_apps_own_origin(origin, accepted):
    kind = _call("websocket", "127.0.0.1:8501", origin)[0]["type"]
    assert kind == ("websocket.accept" if accepted else "websocket.close")


def _raw(port: int, request: str) -> str:
    """Send a raw HTTP request; the response's status line and headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode("latin-1")


def _handshake(port: int, host: str, origin: str) -> str:
    return _raw(port, f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n").split("\r\n")[0]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("serving"), name="serving")
    try:
        s.wait_healthy(timeout=180)
        yield s
    finally:
        s.stop()


def test_the_real_server_binds_loopback_and_refuses_forged_hosts_and_cross_origin_sockets(server):
    port = server.port
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only, no wildcard, no IPv6
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=30) as r:
        assert r.read() == b"ok" and r.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert r.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    forged = _raw(port, f"GET / HTTP/1.1\r\nHost: rebind.evil.example:{port}\r\nConnection: close\r\n\r\n")
    assert forged.startswith("HTTP/1.1 400")
    own = f"127.0.0.1:{port}"
    assert _handshake(port, own, f"http://{own}").startswith("HTTP/1.1 101")  # the app's own page
    assert _handshake(port, own, "http://127.0.0.1:1").startswith("HTTP/1.1 403")  # another local port
    assert _handshake(port, own, "http://evil.example").startswith("HTTP/1.1 403")
    assert _handshake(port, f"evil.example:{port}", f"http://evil.example:{port}").startswith("HTTP/1.1 403")
