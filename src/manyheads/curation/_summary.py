"""What a dataset build kept and dropped, rule by rule (printed by ``manyheads dataset build``)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BuildSummary"]


@dataclass
class BuildSummary:
    """What a build kept and dropped, rule by rule, and the label distributions."""

    source: str
    output: str
    n_read: int = 0
    dropped: list[tuple[str, int]] = field(default_factory=list)
    n_kept: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    cleared: dict[str, dict[str, int]] = field(default_factory=dict)
    dedupe: str = ""
    dropped_rows: dict[str, list[str]] = field(default_factory=dict)

    #: Dropped rows listed per rule in the printed summary (all are in ``dropped_rows``).
    SHOWN = 5

    def __str__(self) -> str:
        from manyheads.crawl._redact import redact

        lines = [f"dataset build: {redact(self.source)} -> {self.output}"]
        lines.append(f"  {'rows read':<40}{self.n_read:>8}")
        if self.dedupe:
            lines.append(f"  dedupe: {self.dedupe}")
        for rule, n in self.dropped:
            lines.append(f"  {'dropped: ' + rule:<40}{n:>8}")
            rows = self.dropped_rows.get(rule, [])
            lines += [f"    {row}" for row in rows[: self.SHOWN]]
            if len(rows) > self.SHOWN:
                lines.append(f"    ... and {len(rows) - self.SHOWN} more")
        lines.append(f"  {'rows kept':<40}{self.n_kept:>8}")
        lines.append("  split: " + ", ".join(f"{k} {v}" for k, v in self.splits.items()))
        for name, counts in self.labels.items():
            lines.append(f"  label {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for name, counts in self.cleared.items():
            gone = ", ".join(f"{k} {v}" for k, v in counts.items())
            lines.append(f"  label {name}: absent from train, cleared in valid/test: {gone}")
        return "\n".join(lines)
