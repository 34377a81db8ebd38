"""Where the train stage's tasks run: in this process, in local worker processes, or on Ray.

:func:`run_tasks` takes a function and a list of argument tuples and yields each call's result
*as soon as it is finished*, in completion order, so the caller can persist it at once:

- ``executor="local", workers=1``: one call after the other, in this process;
- ``executor="local", workers=N>1``: a ``ProcessPoolExecutor`` of ``N`` spawned processes
  (``spawn``, not ``fork``: torch's thread pools do not survive a fork), each running torch on
  one thread;
- ``executor="ray"``: the same function as a Ray task (``num_cpus=1`` each).
  ``ray.init(address=address)`` joins a running cluster (``"auto"`` or ``"HOST:PORT"``); with
  ``address=""`` a local runtime with ``workers`` CPUs is started and shut down afterwards.

If the consumer stops early (an exception such as ``KeyboardInterrupt`` in the loop, or
closing the generator), tasks not yet started are cancelled and the pool or the Ray runtime it
started is shut down; running local workers are not waited for.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence

__all__ = ["EXECUTORS", "run_tasks"]

#: Accepted ``executor`` names.
EXECUTORS = ("local", "ray")


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _local(fn: Callable, calls: Sequence[tuple]) -> Iterator:
    for args in calls:
        yield fn(*args)


def _processes(fn: Callable, calls: Sequence[tuple], workers: int) -> Iterator:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(
        max_workers=workers,
        initializer=_init_worker,
        mp_context=multiprocessing.get_context("spawn"),
    )
    pending = set()
    try:
        pending = {pool.submit(fn, *args) for args in calls}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=not pending, cancel_futures=True)


def _ray(fn: Callable, calls: Sequence[tuple], workers: int, address: str) -> Iterator:
    try:
        import ray
    except ImportError:
        raise ImportError(
            "executor 'ray' needs Ray: pip install 'graphnets[ray]' (or "
            "pip install ray) on this machine and on every node of the cluster"
        ) from None
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                object_store_memory=100 * 1024 * 1024,
            )
    pending = []
    try:
        remote = ray.remote(num_cpus=1)(fn)
        pending = [remote.remote(*args) for args in calls]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def run_tasks(
    fn: Callable,
    calls: Sequence[tuple],
    *,
    executor: str = "local",
    workers: int = 1,
    address: str = "",
) -> Iterator:
    """Yield ``fn(*args)`` for every ``args`` of ``calls``, in order of completion.

    Args:
        fn: a module-level (picklable) function.
        calls: one argument tuple per call.
        executor: ``"local"`` or ``"ray"`` (default: ``"local"``).
        workers: parallel calls; for Ray the CPUs of a runtime it starts (default: ``1``).
        address: Ray cluster to join; ``""`` starts a local runtime (default: ``""``).

    Raises:
        ValueError: on an unknown ``executor`` or ``workers < 1``.
        ImportError: for ``executor="ray"`` without Ray installed.

    Example:
        >>> sorted(run_tasks(pow, [(2, 3), (3, 2)]))
        [8, 9]
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if executor == "ray":
        return _ray(fn, calls, workers, address)
    if workers == 1 or len(calls) <= 1:
        return _local(fn, calls)
    return _processes(fn, calls, min(workers, len(calls)))
