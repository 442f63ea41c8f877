"""The path every compression walks: open the run and its output folder, time the model before
and after, report, then refuse or write the new bundle (marker first, report last)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from manyheads.compress._bundle import check_bundle_output, start_bundle, write_report
from manyheads.compress._measure import BATCH_SIZES, RunData, median_ms, run_data
from manyheads.compress._report import CompressReport, Latency, TaskChange
from manyheads.errors import DataError
from manyheads.workflow._run import Run

__all__ = ["Compression", "measure_latency"]

Batch = TypeVar("Batch")


def measure_latency(
    batch: Callable[[int], Batch],
    before: Callable[[Batch], object],
    after: Callable[[Batch], object],
) -> tuple[Latency, ...]:
    """The median milliseconds of ``before(x)`` and ``after(x)`` on ``x = batch(size)``, for
    each size of :data:`BATCH_SIZES`.

    Example:
        >>> [lat.batch_size for lat in measure_latency(lambda n: n, abs, abs)]
        [1, 64]
    """
    latency = []
    for size in BATCH_SIZES:
        x = batch(size)
        b, a = (median_ms(functools.partial(call, x)) for call in (before, after))
        latency.append(Latency(size, b, a))
    return tuple(latency)


@dataclass(frozen=True)
class Compression:
    """One compression of a run: the run, its data, the checked output folder and the limits
    the user set (``kind`` is ``quantize`` or ``prune``)."""

    kind: str
    run: Run
    data: RunData
    directory: Path
    max_drop: float
    force: bool
    overwrite: bool

    @classmethod
    def open(
        cls,
        kind: str,
        run: Run,
        out_dir: str | Path,
        *,
        limits: tuple[float, bool],
        overwrite: bool,
    ) -> Compression:
        """Read the run's data, then check the output folder (:func:`check_bundle_output`);
        ``limits`` is ``(max_drop, force)``.

        Raises:
            DataError: no ``config.yaml`` or data for the run.
            InvalidParameterError: an output folder that would put files at risk.
        """
        data = run_data(run)
        directory = check_bundle_output(out_dir, run, data.config, overwrite=overwrite)
        max_drop, force = limits
        return cls(kind, run, data, directory, max_drop, force, overwrite)

    def report(
        self,
        engine: str,
        changes: dict[str, TaskChange],
        *,
        sizes: tuple[int, int],
        n_parameters: tuple[int, int],
        latency: tuple[Latency, ...],
        settings: dict[str, Any],
    ) -> CompressReport:
        """The report of this compression, with its limits and source."""
        return CompressReport(
            self.kind,
            str(self.run.directory),
            engine,
            changes,
            sizes,
            n_parameters,
            latency,
            self.max_drop,
            forced=self.force,
            settings=settings,
        )

    def refuse_dropped(self, report: CompressReport, what: str, *fixes: str) -> None:
        """Refuse a report above the limit unless forced; ``fixes`` are offered before a larger
        ``--max-drop``.

        Raises:
            DataError: naming the tasks, the limit, the fixes and the report's lines.
        """
        if not report.passed and not self.force:
            failed = ", ".join(report.failed())
            advice = ", ".join([*fixes, "or a larger --max-drop"])
            raise DataError(
                f"{what} lowers the primary metric of task(s) {failed} by more than --max-drop "
                f"{self.max_drop:g}; nothing was written. Pass --force to keep it, {advice}.\n"
                + "\n".join(report.lines()),
                path=str(self.directory),
            )

    @contextmanager
    def writing(self, report: CompressReport) -> Iterator[Path]:
        """Write the new bundle into the output folder: the marker first (clearing what
        manyheads wrote there with ``overwrite``), the caller's files, ``compress.json`` last."""
        start_bundle(self.directory, overwrite=self.overwrite)
        yield self.directory
        write_report(self.directory, report)
