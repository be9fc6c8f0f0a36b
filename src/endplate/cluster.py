"""Dask for the fits and the trials: a client to a running scheduler, or to a local cluster.

A local cluster listens on 127.0.0.1 only (scheduler, workers, nannies) and has no dashboard
unless asked for, then also on 127.0.0.1: nothing of it is reachable from the network.

Dask's nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc hand
freed memory back to the system almost at once. The kernels allocate and free small buffers all
the time, and under that setting a worker spent twice the CPU time per trial subject that the
same code spends in a plain process (0.166 against 0.077 s, measured). Workers started here keep
glibc's own threshold unless the caller's worker environment sets one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import warnings
from collections.abc import Iterator, Mapping

import dask

from endplate.errors import EndplateInputError

LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT_S = 5


def connect(
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    *,
    worker_environment: Mapping[str, str] | None = None,
    dashboard: bool = False,
):
    """A Dask client: to ``scheduler`` (an address) or to a new local cluster. Returns (client, cluster).

    ``cluster`` is None for a running scheduler. A local cluster has ``workers`` single-threaded
    workers (default: one per core), processes or threads, started with ``worker_environment``
    where this process does not set those variables itself; ``dashboard`` serves Dask's dashboard
    on a free port of 127.0.0.1 (``cluster.dashboard_link``).
    """
    from distributed import Client

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise EndplateInputError(
                f"cannot reach the Dask scheduler at {scheduler!r} within {CONNECT_TIMEOUT_S} s "
                f"({type(exc).__name__}); give a running scheduler's address such as "
                "tcp://host:8786, or leave --scheduler out for a local cluster"
            ) from None
    cluster = local_cluster(workers or max(1, os.cpu_count() or 1), processes, worker_environment or {}, dashboard)
    client = Client(cluster)
    if processes:
        # Ctrl-C reaches the whole process group: the workers leave it to this process, which
        # stops them (see ``interruptible``), instead of each printing its own traceback.
        client.run(_ignore_interrupts)
    return client, cluster


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def disconnect(client, cluster, quiet: bool = False) -> None:
    """Close ``client`` and, when there is one, the local ``cluster`` it was connected to.

    ``quiet`` (after an interruption): Dask's complaints about the work cut short are not shown.
    """
    if quiet:
        for name in ("distributed", "tornado", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    with contextlib.suppress(Exception) if quiet else contextlib.nullcontext():
        client.close()
        if cluster is not None:
            cluster.close()


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while a long run was under way (``signum``: which one)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process stopped by it (130 SIGINT, 143 SIGTERM)."""
        return 128 + self.signum


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM raise ``Interrupted`` in the main thread; a second one while the
    first is being handled (workers stopping, finished work kept) is ignored. Outside the main
    thread (a test runner's worker thread) it does nothing."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def handler(signum, frame):
        if not caught:
            caught.append(signum)
            raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def local_cluster(workers: int, processes: bool, worker_environment: Mapping[str, str], dashboard: bool):
    """A ``distributed.LocalCluster`` on 127.0.0.1 with single-threaded workers (see the module docstring)."""
    from distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    environ.update({k: v for k, v in worker_environment.items() if k not in os.environ})
    # The nanny writes these into this process's environment before it spawns a worker; they are
    # put back at once, since this process's own Numba configuration must not change.
    saved = {k: os.environ.get(k) for k in [*environ, "PYTHONHASHSEED"]}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "port 8787 in use": the HTTP server takes a free one
            # TCP on loopback for threads too: with Dask's in-process transport the HTTP servers
            # of the scheduler and workers would listen on every interface.
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=processes,
                protocol="tcp://",
                host=LOOPBACK,
                dashboard_address=f"{LOOPBACK}:0" if dashboard else None,
                silence_logs=logging.CRITICAL,
            )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
