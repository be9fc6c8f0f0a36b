import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The suite is deterministic: property tests draw the same examples on every run, and a busy
# machine does not turn slow example generation into a failure.
settings.register_profile(
    "endplate", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("endplate")

from endplate import default_parameters, make_population  # noqa: E402  (after the Hypothesis profile)


@pytest.fixture(scope="session")
def mouse():
    return default_parameters("mouse")


@pytest.fixture(scope="session")
def human():
    return default_parameters("human")


@pytest.fixture
def small_population(mouse):
    return make_population(mouse, 64, seed=3)


def regular(frequency_hz, n):
    return [np.inf] + [1000.0 / frequency_hz] * (n - 1)


@pytest.fixture(scope="session")
def small_ta():
    """A factory of small mouse TAs (40 units, 1400 fibres): ``small_ta(seed)`` healthy, or
    ``small_ta(seed, day)`` SOD1-G93A as its course leaves it on ``day`` (about 1-2 s); each call builds a new one."""

    def make(seed: int, day: int | None = None):
        from endplate.disease.diseased_muscle import base_scenario, muscle_on_day, one_muscle_scenario
        from endplate.muscle.protocols import muscle

        size = {"n_units": 40, "n_fibres": 1400}
        if day is None:
            return muscle("mouse", "TA", seed, **size)
        sc = one_muscle_scenario(
            "SOD1-G93A",
            base_scenario("SOD1-G93A", "mouse").hypothesis,
            "TA",
            seed,
            "mouse",
            end_day=day + 10,
            readout_every_days=40,
            mune_every_days=200,
            muscle_set={"TA": size},
        )
        return muscle_on_day(sc, "TA", day)

    return make


@pytest.fixture(scope="session")
def cli():
    """Run the installed console script as a user would; returns the CompletedProcess."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("endplate")
    base = [exe] if exe else [sys.executable, "-m", "endplate.cli"]

    def run(*args, cwd=None):
        return subprocess.run([*base, *args], capture_output=True, text=True, cwd=cwd, timeout=600)

    return run


@pytest.fixture
def listening():
    """A function giving the (ip, port) of every listening socket of this process and its children."""
    import psutil

    def sockets():
        me = psutil.Process()
        found = set()
        for proc in [me, *me.children(recursive=True)]:
            try:
                found |= {(c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
            except psutil.NoSuchProcess:  # a worker that has just ended
                pass
        return found

    return sockets


APP_START_TIMEOUT_S = 120  # the app imports Panel, Matplotlib and the simulator


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """`endplate app` on a free port of 127.0.0.1, in a subprocess; yields (port, path of its output).

    Every wait is bounded; the server is stopped (SIGINT, then SIGKILL) at the end of the module.
    """
    import http.client
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("app") / "server.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with open(log, "w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "endplate.cli", "app", "--port", str(port), "--no-browser"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + APP_START_TIMEOUT_S
    try:
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                conn.close()
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield port, log
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
