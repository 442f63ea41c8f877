"""A replay scenario with known ground truth, built from held-out financial tweets.

Each article pairs two held-out tweets of ``twitter-financial-news`` (README there): its
**headline** is a ``sent_valid.csv`` tweet, whose label gives the article's true sentiment,
and its **body** is a ``topic_valid.csv`` tweet, whose label gives the article's true topic.
No tweet carries both labels, so pairing them is what makes both truths known; a monitor
reads the topic from the body and the sentiment from the headline (``model.topic_inputs``).

Articles are spread over ``n_buckets`` time buckets. Outside the spike, bodies and headlines
are drawn at random, so every topic's true bearish share is the data's (about 14.5%). In the
spike window (``spike_buckets`` buckets from ``spike_start``), ``spike_articles`` extra-per-
bucket articles of ``spike_topic`` get headlines that are truly Bearish with probability
``spike_bearish``: that topic's true bearish share rises well above its baseline, and nothing
else changes. :meth:`Scenario.truth` gives the true counts per topic and bucket.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from manyheads.errors import DataError, InvalidParameterError

__all__ = ["SENTIMENTS", "TOPICS", "Article", "Scenario", "build_scenario"]

#: Label names of the data's README ("Label maps").
TOPICS = (
    "Analyst Update", "Fed | Central Banks", "Company | Product News",
    "Treasuries | Corporate Debt", "Dividend", "Earnings", "Energy | Oil", "Financials",
    "Currencies", "General News | Opinion", "Gold | Metals | Materials", "IPO",
    "Legal | Regulation", "M&A | Investments", "Macro", "Markets", "Politics",
    "Personnel Change", "Stock Commentary", "Stock Movement",
)  # fmt: skip
SENTIMENTS = ("Bearish", "Bullish", "Neutral")


@dataclass(frozen=True)
class Article:
    """One replayed article with its true labels."""

    id: int
    published: datetime
    headline: str
    body: str
    topic: str
    sentiment: str
    planted: bool


@dataclass(frozen=True)
class Scenario:
    """Articles in publication order, the bucket grid and where the spike was planted."""

    articles: tuple[Article, ...]
    start: datetime
    bucket_s: float
    n_buckets: int
    spike_topic: str
    spike_start: int
    spike_buckets: int

    def bucket_of(self, when: datetime) -> int:
        """The index of the bucket ``when`` falls in (0 = the first)."""
        return int((when - self.start).total_seconds() // self.bucket_s)

    def bucket_start(self, index: int) -> datetime:
        """When bucket ``index`` starts."""
        return self.start + timedelta(seconds=index * self.bucket_s)

    def truth(self) -> dict[tuple[str, int], tuple[int, int]]:
        """``(topic, bucket) -> (articles, truly bearish)`` from the labels."""
        counts: Counter[tuple[str, int]] = Counter()
        bearish: Counter[tuple[str, int]] = Counter()
        for a in self.articles:
            key = (a.topic, self.bucket_of(a.published))
            counts[key] += 1
            bearish[key] += a.sentiment == "Bearish"
        return {k: (n, bearish[k]) for k, n in counts.items()}

    def to_json(self) -> str:
        """The scenario as JSON (times in ISO 8601)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["articles"] = [
            {**a, "published": a["published"].isoformat()} for a in data["articles"]
        ]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """Read :meth:`to_json`'s output."""
        data: dict[str, Any] = json.loads(text)
        arts = tuple(
            Article(**{**a, "published": datetime.fromisoformat(a["published"])})
            for a in data.pop("articles")
        )
        return cls(articles=arts, **{**data, "start": datetime.fromisoformat(data["start"])})


def _read(path: Path, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(text, label name)`` rows of one of the data's CSV files."""
    if not path.is_file():
        raise DataError(
            "not found; point --data (or $MANYHEADS_DATA/twitter-financial-news) at the "
            "twitter-financial-news folder.",
            path=str(path),
        )
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            label = row.get("label", "")
            if not label.isdigit() or int(label) >= len(names):
                raise DataError(
                    f"'label' must be an integer in 0..{len(names) - 1}. Got {label!r}.",
                    path=str(path),
                    line=line,
                    column="label",
                )
            rows.append((row["text"], names[int(label)]))
    return rows


def build_scenario(  # noqa: PLR0913 - one keyword per knob of the scenario
    data_dir: str | Path,
    *,
    n_buckets: int = 48,
    per_bucket: int | None = None,
    bucket_s: float = 3600.0,
    start: datetime = datetime(2026, 12, 1, tzinfo=UTC),
    spike_topic: str = "Earnings",
    spike_start: int = 36,
    spike_buckets: int = 3,
    spike_articles: int = 30,
    spike_bearish: float = 0.9,
    seed: int = 0,
) -> Scenario:
    """Build a replay from ``sent_valid.csv`` (headlines) and ``topic_valid.csv`` (bodies).

    Args:
        data_dir: the ``twitter-financial-news`` folder.
        n_buckets: time buckets in the replay.
        per_bucket: background articles per bucket (default: as many as the headlines allow).
        bucket_s: bucket width in seconds.
        start: when the first bucket starts.
        spike_topic: the topic whose bearish share rises.
        spike_start / spike_buckets: the spike's first bucket and its length.
        spike_articles: extra articles of ``spike_topic`` per spike bucket.
        spike_bearish: the probability that a spike article's headline is truly Bearish.
        seed: the random draws.

    Raises:
        InvalidParameterError: a knob out of range or a topic not in the data.
        DataError: a data file is missing or has a bad label.

    Example:
        >>> import os
        >>> s = build_scenario(os.environ["MANYHEADS_DATA"] + "/twitter-financial-news",
        ...     n_buckets=6, per_bucket=20, spike_start=4, spike_buckets=1)  # doctest: +SKIP
        >>> len(s.articles)  # doctest: +SKIP
        140
    """
    if spike_topic not in TOPICS:
        raise InvalidParameterError(
            f"spike_topic must be one of {', '.join(TOPICS)}. Got {spike_topic!r}."
        )
    if not 0 <= spike_start <= n_buckets - spike_buckets or spike_buckets < 1:
        raise InvalidParameterError(
            f"the spike (start {spike_start}, {spike_buckets} buckets) must lie within the "
            f"{n_buckets} buckets."
        )
    folder = Path(data_dir)
    rng = random.Random(seed)
    heads = _read(folder / "sent_valid.csv", SENTIMENTS)
    bodies = _read(folder / "topic_valid.csv", TOPICS)
    rng.shuffle(heads)
    rng.shuffle(bodies)
    n_spike = spike_buckets * spike_articles
    bearish = [h for h in heads if h[1] == "Bearish"]
    other = [h for h in heads if h[1] != "Bearish"]
    spike_heads = [
        bearish.pop() if rng.random() < spike_bearish else other.pop() for _ in range(n_spike)
    ]
    rest_heads = bearish + other
    rng.shuffle(rest_heads)
    spike_bodies = [b for b in bodies if b[1] == spike_topic][:n_spike]
    rest_bodies = [b for b in bodies if b not in spike_bodies]
    per_bucket = per_bucket or len(rest_heads) // n_buckets
    if (
        per_bucket * n_buckets > min(len(rest_heads), len(rest_bodies))
        or len(spike_bodies) < n_spike
    ):
        raise InvalidParameterError(
            f"{n_buckets} buckets x {per_bucket} articles (+ {n_spike} spike articles) need more "
            f"tweets than the held-out files hold ({len(heads)} headlines, {len(bodies)} bodies)."
        )
    drafts = []
    for b in range(n_buckets):
        spike = spike_start <= b < spike_start + spike_buckets
        for k in range(per_bucket + (spike_articles if spike else 0)):
            head, body = (
                (spike_heads.pop(), spike_bodies.pop())
                if k >= per_bucket
                else (rest_heads.pop(), rest_bodies.pop())
            )
            when = start + timedelta(seconds=b * bucket_s + rng.random() * bucket_s)
            drafts.append((when.replace(microsecond=0), head, body, k >= per_bucket))
    drafts.sort(key=lambda d: d[0])
    articles = tuple(
        Article(i + 1, when, head[0], body[0], body[1], head[1], planted)
        for i, (when, head, body, planted) in enumerate(drafts)
    )
    return Scenario(articles, start, bucket_s, n_buckets, spike_topic, spike_start, spike_buckets)
