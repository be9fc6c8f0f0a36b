"""`endplate app` answers only to localhost names and never imports a module named in a URL."""

from __future__ import annotations

import http.client
import time

import pytest

REQUEST_TIMEOUT_S = 10
ZEN = "Beautiful is better than ugly"  # what `import this` prints: the module the URL below names


def _get(port: int, path: str, host: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def app(app_server):
    """The running app's port and a function giving its output so far."""
    port, log = app_server
    return port, log.read_text


def test_the_page_loads_at_localhost_names(app):
    port, _ = app
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, body = _get(port, "/", host)
        assert status == 200 and "endplate lab" in body


@pytest.mark.parametrize("path", ["/", "/ws", "/static/js/bokeh.min.js"])
def test_a_foreign_host_is_refused(app, path):
    port, _ = app
    status, body = _get(port, path, f"attacker.example:{port}")
    assert status == 403 and "only at http://127.0.0.1" in body
    assert _get(port, path, "127.0.0.1")[0] == 403  # the right address on another port (no port = 80)


def test_a_components_url_does_not_import_the_module_it_names(app):
    port, output = app
    status, _ = _get(port, "/components/this/Zen/__css__/zen.css", f"127.0.0.1:{port}")
    assert status == 403
    time.sleep(0.5)  # the server's output reaches the log file
    assert ZEN not in output()


def test_an_oversized_request_body_is_refused(app):
    """Tornado stops reading past the body limit (guard.MAX_BODY_BYTES) instead of buffering 100 MB."""
    from endplate.app.guard import MAX_BODY_BYTES

    port, _ = app
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Host", f"127.0.0.1:{port}")
        conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        conn.endheaders()
        try:
            conn.send(b"x" * (MAX_BODY_BYTES + 1))
            status = conn.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            status = None  # the server closed the connection: refused
    finally:
        conn.close()
    assert status in (None, 400, 413)
