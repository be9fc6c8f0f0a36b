"""`endplate app` answers only to localhost names and never imports a module named in a URL."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

START_TIMEOUT_S = 120  # the app imports Panel, Matplotlib and the simulator
REQUEST_TIMEOUT_S = 10
ZEN = "Beautiful is better than ugly"  # what `import this` prints: the module the URL below names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, host: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app served on a free port of 127.0.0.1; yields (port, a function giving its output so far)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with open(log, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "endplate.cli", "app", "--port", str(port), "--no-browser"],
                                stdout=sink, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                if _get(port, "/", f"127.0.0.1:{port}")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield port, log.read_text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=REQUEST_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=REQUEST_TIMEOUT_S)


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
