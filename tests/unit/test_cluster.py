"""Local Dask clusters listen on 127.0.0.1 only, with no dashboard unless asked for."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from endplate.calibrate import fit
from endplate.cluster import LOOPBACK, connect, disconnect

HTTP_TIMEOUT_S = 10


def _status(port: int) -> int:
    """HTTP status of the dashboard page on ``port``."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/status", timeout=HTTP_TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _http_ports(client) -> set[int]:
    """The ports of the scheduler's and workers' HTTP servers (Dask names each "dashboard", on or off)."""
    info = client.scheduler_info()
    return {info["services"]["dashboard"]} | {w["services"]["dashboard"] for w in info["workers"].values()}


@pytest.mark.parametrize("processes", [False, True])
def test_local_cluster_listens_on_loopback_without_dashboard(listening, processes):
    before = listening()
    client, cluster = connect(workers=1, processes=processes)
    try:
        opened = listening() - before
        assert opened, "the cluster opened no socket: nothing was checked"
        assert {ip for ip, _ in opened} == {LOOPBACK}, opened
        assert _http_ports(client) <= {port for _, port in opened}
        assert all(_status(port) == 404 for port in _http_ports(client)), "a dashboard answered although none was asked for"
    finally:
        disconnect(client, cluster)


def test_a_dashboard_asked_for_is_on_loopback(listening):
    before = listening()
    client, cluster = connect(workers=1, processes=False, dashboard=True)
    try:
        opened = listening() - before
        assert {ip for ip, _ in opened} == {LOOPBACK}, opened
        assert cluster.dashboard_link.startswith(f"http://{LOOPBACK}:")
        port = int(cluster.dashboard_link.split(":")[2].split("/")[0])
        assert _status(port) == 200
    finally:
        disconnect(client, cluster)


def test_fit_cluster_is_on_loopback(listening):
    before = listening()
    client, cluster = fit.connect(workers=1, processes=False)
    try:
        assert {ip for ip, _ in listening() - before} == {LOOPBACK}
    finally:
        disconnect(client, cluster)
