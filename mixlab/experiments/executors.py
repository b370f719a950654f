"""Where runs execute: a local process pool (the default) or Ray tasks; both return standard futures.

An executor is ``submit(payload) -> concurrent.futures.Future`` plus ``close()``; the runner waits on
the futures with :func:`concurrent.futures.wait`. Nothing here schedules, queues or talks over the
network itself: the process pool and Ray do.

- ``local``: ``ProcessPoolExecutor(max_workers=N)`` with the ``spawn`` start method (no forked torch
  state). Each worker uses ``resources.num_cpus`` torch threads and exits when the driver dies (a
  killed experiment leaves no worker training on).
- ``ray``: each run is a ``ray.remote`` task declaring ``num_cpus``/``num_gpus``, on the cluster at
  ``address`` (or ``RAY_ADDRESS``), else on a local Ray started for the experiment. Needs the
  ``ray`` extra: ``pip install 'mixlab[ray]'``. The experiment folder must be on storage every node
  sees.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from mixlab.errors import ConfigError
from mixlab.experiments.execute import execute

EXECUTORS = ("local", "ray")


class LocalExecutor:
    """Runs on this machine in ``workers`` processes."""

    name = "local"

    def __init__(self, workers: int = 1, num_cpus: float = 1.0) -> None:
        if workers < 1:
            raise ConfigError(f"workers={workers}; fix: use --workers 1 or more")
        self.workers = workers
        threads = max(1, int(num_cpus))
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(os.getpid(), threads))

    def submit(self, job: dict[str, Any]) -> Future:
        return self._pool.submit(execute, job)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


def _init_worker(driver_pid: int, threads: int) -> None:
    """Worker set-up: torch threads, and exit as soon as the driver is gone (a killed experiment)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))

    def watch() -> None:
        while os.getppid() == driver_pid:
            time.sleep(0.5)
        os._exit(1)  # the driver died (kill -9): stop training; the rerun resumes from the last checkpoint

    threading.Thread(target=watch, name="mixlab-driver-watch", daemon=True).start()


class RayExecutor:
    """Runs each run as a Ray task with its declared resources."""

    name = "ray"

    def __init__(self, *, num_cpus: float = 1.0, num_gpus: float = 0.0, address: str | None = None,
                 local_cpus: int | None = None) -> None:
        ray = require_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None and local_cpus is not None:
                options["num_cpus"] = local_cpus
            ray.init(address=address, **options)
            self._started = True
        self._remote = ray.remote(execute).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)

    def submit(self, job: dict[str, Any]) -> Future:
        return self._remote.remote(job).future()

    def close(self, cancel: bool = False) -> None:
        if self._started:
            self._ray.shutdown()


def require_ray() -> Any:
    """The ``ray`` module, or :class:`~mixlab.errors.MissingDependencyError` saying how to install it."""
    from mixlab._optional import require

    return require("ray", "ray", "--executor ray")


def make_executor(name: str, *, workers: int = 1, num_cpus: float = 1.0, num_gpus: float = 0.0,
                  address: str | None = None) -> LocalExecutor | RayExecutor:
    """``local`` (``workers`` processes) or ``ray`` (a local Ray gets ``workers`` x ``num_cpus`` CPUs)."""
    if name == "local":  # num_gpus is Ray's to reserve; a local run uses the device its backend picks
        return LocalExecutor(workers, num_cpus)
    if name == "ray":
        return RayExecutor(num_cpus=num_cpus, num_gpus=num_gpus, address=address,
                           local_cpus=max(1, int(workers * num_cpus)))
    raise ConfigError(f"unknown executor {name!r}; choose one of {list(EXECUTORS)}")


__all__ = ["EXECUTORS", "LocalExecutor", "RayExecutor", "make_executor", "require_ray"]
