"""The Ray executor: actors on a Ray cluster each build the clip work once and keep it loaded.

The driver (this process) hands each actor a few clips at a time (``ExecutorOptions.in_flight``, so an
actor never waits for the driver), writes every result as it arrives, and gives an actor's next clip of
the same run as soon as one finishes. A clip whose work raised comes back as a failure (the actor
lives on) and is retried per the rules of ``avs_studio.jobs.executor``; an actor that dies (node lost,
process killed, out of memory) has its clips queued again and a replacement started. Actors are tied to
this driver: if it is killed they are ended by Ray, and ``--resume`` picks up from the stored clips.

Ray is imported only here, and only when a run starts (the ``[cluster]`` extra).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from avs_studio.extras import MissingExtraError
from avs_studio.jobs.executor import (
    ClipTask,
    ClipWork,
    ExecutorError,
    ExecutorOptions,
    Tracker,
    describe_error,
    stopped,
)


def import_ray() -> Any:
    """The ray module; MissingExtraError (the [cluster] extra and its pip command) when not installed."""
    try:
        import ray
    except ModuleNotFoundError as exc:
        if exc.name != "ray":
            raise
        raise MissingExtraError("cluster", ["ray"], "--executor ray") from None
    return ray


class ClipActor:
    """One worker: ``ready()`` builds the work (loads the models) once; ``run(task)`` answers one clip
    as (True, output) or (False, error text) without dying."""

    def __init__(self, work: ClipWork):
        self.work = work
        self.fn: Any = None

    def ready(self) -> dict[str, Any]:
        import ray

        self.fn = self.work.build()
        return {
            "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(),
            "gpus": ray.get_gpu_ids(),
        }

    def run(self, task: ClipTask) -> tuple[bool, Any]:
        outputs = self.fn([task])
        try:
            return True, next(iter(outputs))
        except StopIteration:
            return False, "the work function gave no output"
        except Exception as exc:
            return False, describe_error(exc)
        finally:
            close = getattr(outputs, "close", None)
            if close is not None:
                close()


def connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at ``address`` (None: start Ray on this machine); True when this call started
    the connection (and so shuts it down at the end). An already initialised Ray is used as it is."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"at {address}" if address else "on this machine"
        raise ExecutorError(f"cannot start or reach a Ray cluster {where}: {exc}") from exc
    return True


def worker_count(ray: Any, options: ExecutorOptions, clips: int) -> tuple[int, float]:
    """(workers, GPUs per worker): the options, else what the cluster's resources hold; never more
    workers than clips."""
    res = ray.cluster_resources()
    gpus = options.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if res.get("GPU", 0) >= 1 else 0.0
    if options.workers:
        n = options.workers
    elif gpus > 0:
        n = int(res.get("GPU", 0) // gpus)
    else:
        n = int(res.get("CPU", 1) // options.cpus_per_worker)
    return max(1, min(n, clips)), gpus


@dataclass(eq=False)
class _Slot:
    handle: Any
    ready: bool = False
    alive: bool = True
    running: int = 0
    info: dict[str, Any] = field(default_factory=dict)


def run(
    tasks: list[ClipTask], work: ClipWork, tracker: Tracker, options: ExecutorOptions, cancel: Any
) -> None:
    ray = import_ray()
    started = connect(ray, options.address)
    stats = tracker.stats
    queue: deque[ClipTask] = deque(tasks)
    pending: dict[Any, tuple[_Slot, ClipTask | None]] = {}  # ObjectRef -> (actor, its clip | None = ready)
    slots: list[_Slot] = []
    lost: list[Exception] = []  # why workers died, newest last
    try:
        n, gpus = worker_count(ray, options, len(tasks))
        actor = ray.remote(ClipActor).options(num_cpus=options.cpus_per_worker, num_gpus=gpus, max_restarts=0)
        budget = [n + n + options.retries + 1]  # actors that may still be started (replacements included)

        def spawn() -> None:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            slot = _Slot(actor.remote(work))
            slots.append(slot)
            pending[slot.handle.ready.remote()] = (slot, None)

        def feed(slot: _Slot) -> None:
            while slot.alive and slot.ready and slot.running < options.in_flight and queue:
                task = queue.popleft()
                pending[slot.handle.run.remote(task)] = (slot, task)
                slot.running += 1

        for _ in range(n):
            spawn()
        while (queue or any(t is not None for _, t in pending.values())) and not stopped(cancel):
            if not pending:
                last = f"; the last one ended with: {str(lost[-1])[:2000]}" if lost else ""
                raise ExecutorError(
                    f"no Ray worker is left to run the {len(queue)} clip(s) still queued (workers that "
                    f"cannot start usually lack avs-studio or its models on that node){last}"
                )
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in done:
                slot, task = pending.pop(ref)
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    lost.append(exc)
                    _lost(slot, task, exc, tracker, queue, spawn)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    if task is None:  # the work could not be built (a missing model, a bad config)
                        cause = getattr(exc, "cause", None)
                        raise (cause if isinstance(cause, Exception) else exc) from None
                    slot.running -= 1
                    if tracker.failed(task, describe_error(exc)):
                        queue.appendleft(task)
                    continue
                if task is None:
                    slot.ready, slot.info = True, value
                    stats.ready(tracker.started)
                else:
                    slot.running -= 1
                    ok, payload = value
                    if ok:
                        tracker.done(task, payload)
                    elif tracker.failed(task, payload):
                        queue.appendleft(task)
            for slot in slots:
                feed(slot)
    finally:
        for slot in slots:
            try:
                ray.kill(slot.handle, no_restart=True)
            except Exception:  # already gone
                pass
        if started:
            ray.shutdown()


def _lost(slot: _Slot, task: ClipTask | None, exc: Exception, tracker: Tracker, queue: deque[ClipTask], spawn: Callable[[], None]) -> None:
    """An actor died: count it once, start a replacement, queue its clip again (a clip that keeps
    killing its worker runs out of attempts like a failing one)."""
    if slot.alive:
        slot.alive = False
        tracker.stats.lost_workers += 1
        spawn()
    if task is not None:
        slot.running -= 1
        reason = f"its worker was lost ({type(exc).__name__})"
        if tracker.failed(task, reason, lost=True):
            queue.appendleft(task)
