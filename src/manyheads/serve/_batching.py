"""Dynamic micro-batching: concurrent requests' rows predicted in one network call.

With ``max_batch_size`` 1 (the default) each request is predicted alone in a worker thread.
Above 1, requests wait in an asyncio queue; one collector takes the first, then gathers more
until the batch holds ``max_batch_size`` rows or ``max_wait_ms`` has passed, predicts every
task any of them asked for in one call in a worker thread, and hands each request its rows and
tasks back. A request whose rows the preprocessing refuses fails alone: the batch is then
predicted request by request (docs/serving.md, "Micro-batching").
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from manyheads.serve._predictor import Predictor, records

__all__ = ["MicroBatcher"]

Record = dict[str, object]


@dataclasses.dataclass(eq=False)
class _Job:
    rows: Sequence[dict[str, object]]
    tasks: list[str]
    future: asyncio.Future[list[Record]]


class MicroBatcher:
    """Predicts the requests of one model, alone or in micro-batches.

    Args:
        predictor: the model.
        executor: the threads that run the predictions.
        max_batch_size: rows per network call (1: no micro-batching).
        max_wait_ms: how long a batch's first request waits for more.
        on_batch: called with the number of rows of each network call (the metrics).
    """

    def __init__(
        self,
        predictor: Predictor,
        executor: Executor,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        on_batch: Callable[[int], None],
    ) -> None:
        self.predictor = predictor
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Job] | None = None
        self._collector: asyncio.Task[None] | None = None
        self._held: _Job | None = None  # the job that did not fit into the last batch

    @property
    def batching(self) -> bool:
        """True when requests are gathered into micro-batches."""
        return self.max_batch_size > 1

    def start(self) -> None:
        """Start the collector on the running event loop (micro-batching only)."""
        if self.batching and self._collector is None:
            self._queue = asyncio.Queue()
            self._collector = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self) -> None:
        """Stop the collector (after the server has finished its requests)."""
        if self._collector is not None:
            self._collector.cancel()
            await asyncio.gather(self._collector, return_exceptions=True)
            self._collector = None

    async def predict(self, rows: Sequence[dict[str, object]], tasks: list[str]) -> list[Record]:
        """The records of ``rows`` for ``tasks`` (in the model's order).

        Raises:
            DataError: a cell of ``rows`` that the preprocessing refuses.
        """
        loop = asyncio.get_running_loop()
        if self._queue is None or len(rows) >= self.max_batch_size:
            return await loop.run_in_executor(self.executor, self._alone, rows, tasks)
        job = _Job(rows, tasks, loop.create_future())
        self._queue.put_nowait(job)
        return await job.future

    def _alone(self, rows: Sequence[dict[str, object]], tasks: list[str]) -> list[Record]:
        columns = self.predictor.predict_tasks(rows, tasks)
        self.on_batch(len(rows))
        return records(columns, tasks, 0, len(rows))

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._gather(loop)
            try:
                results = await loop.run_in_executor(self.executor, self._predict_batch, batch)
            except Exception as exc:  # a bug: fail these requests, keep serving the next ones
                results = [exc] * len(batch)
            for job, result in zip(batch, results, strict=True):
                if job.future.done():  # the request timed out or its client left
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

    async def _gather(self, loop: asyncio.AbstractEventLoop) -> list[_Job]:
        """The next batch: the held job or the first queued, then more until full or late."""
        assert self._queue is not None
        first = self._held if self._held is not None else await self._queue.get()
        self._held = None
        batch, n_rows = [first], len(first.rows)
        deadline = loop.time() + self.max_wait_s
        while n_rows < self.max_batch_size:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if n_rows + len(job.rows) > self.max_batch_size:
                self._held = job
                break
            batch.append(job)
            n_rows += len(job.rows)
        return batch

    def _predict_batch(self, batch: list[_Job]) -> list[list[Record] | BaseException]:
        """Each job's records from one call; request by request when the call fails (a job
        whose request has gone gets an empty list)."""
        live = [not job.future.done() for job in batch]  # fixed now: the offsets depend on it
        jobs = [job for job, keep in zip(batch, live, strict=True) if keep]
        tasks = self.predictor.ordered(sorted({t for job in jobs for t in job.tasks}))
        rows = [row for job in jobs for row in job.rows]
        try:
            columns = self.predictor.predict_tasks(rows, tasks) if jobs else {}
        except Exception as exc:
            if len(jobs) == 1:
                return [exc if keep else [] for keep in live]
            return [self._safe_alone(j) if k else [] for j, k in zip(batch, live, strict=True)]
        if jobs:
            self.on_batch(len(rows))
        out: list[list[Record] | BaseException] = []
        start = 0
        for job, keep in zip(batch, live, strict=True):
            if not keep:
                out.append([])
                continue
            out.append(records(columns, job.tasks, start, start + len(job.rows)))
            start += len(job.rows)
        return out

    def _safe_alone(self, job: _Job) -> list[Record] | BaseException:
        try:
            return self._alone(job.rows, job.tasks)
        except Exception as exc:
            return exc
