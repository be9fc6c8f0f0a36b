import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The suite is deterministic: property tests draw the same examples on every run, and a busy
# machine does not turn slow example generation into a failure.
settings.register_profile("endplate", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
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
