"""manyheads dataset build: cleaning, filters, dedupe, labels, split, summary, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from manyheads.cli.main import main
from manyheads.curation import (
    build_dataset,
    clean_text,
    detect_language,
    parse_build_config,
    split_of,
)
from manyheads.errors import ConfigError, DataError

LONG = "This dress is lovely and the fabric is soft, I wear it to work and it fits well. " * 3


@pytest.fixture
def records(tmp_path: Path) -> str:
    rows = [
        ("http://h/r/1", LONG, "Dresses", 5),
        ("http://h/r/2", LONG.upper(), "Dresses", 5),  # exact duplicate after normalisation
        ("http://h/r/3", LONG + " Recommended", "Dresses", 4),  # near duplicate
        (
            "http://h/r/4",
            "Das Kleid ist sehr schön und passt mir nicht, aber es ist gut.",
            "Tops",
            2,
        ),
        ("http://h/r/5", "Too short", "Tops", 1),
        (
            "http://h/r/6",
            "The jacket &amp; the ﬁt are great, it is warm and I love the colour.",
            "Jackets",
            3,
        ),
        (
            "http://h/r/7",
            "It ran small so I sent it back, the seams were also not good at all.",
            None,
            1,
        ),
        (
            "http://h/r/8",
            "Not what I expected, the colour is dull and it is far too big for me.",
            "Tops",
            2,
        ),
    ]
    frame = pd.DataFrame(rows, columns=["url", "text", "category", "rating"])
    path = tmp_path / "records.parquet"
    frame.to_parquet(path, index=False)
    return str(path)


CONFIG = {
    "columns": {"text": "text", "department": "category", "rating": "rating"},
    "filters": {
        "required": ["department"],
        "min_chars": {"text": 20},
        "language": {"column": "text", "keep": ["en"]},
    },
    "dedupe": {"column": "text", "near_threshold": 0.8},
    "labels": {
        "sentiment": {"from": "rating", "map": {"positive": ">= 4", "negative": "<= 2"}},
        "department": {},
    },
    "split": {"valid": 0.2, "test": 0.2},
}


def test_build(records: str, tmp_path: Path) -> None:
    out = tmp_path / "out" / "reviews.parquet"
    summary = build_dataset(records, parse_build_config(CONFIG), out)
    frame = pd.read_parquet(out)
    assert frame["url"].tolist() == ["http://h/r/1", "http://h/r/6", "http://h/r/8"]
    assert dict(summary.dropped) == {
        "missing department": 1,
        "text shorter than 20": 1,
        "language not in en": 1,
        "exact duplicates": 1,
        "near duplicates": 1,
    }
    assert frame.loc[1, "text"].startswith("The jacket & the fit are great")
    assert frame["sentiment"].fillna("-").tolist() == ["positive", "-", "negative"]
    assert summary.labels["sentiment"] == {"positive": 1, "(missing)": 1, "negative": 1}
    assert set(frame["split"]) <= {"train", "valid", "test"}
    assert summary.n_read == 8
    assert summary.n_kept == 3
    text = str(summary)
    assert "dropped: exact duplicates" in text
    assert "label department: Dresses 1, Jackets 1, Tops 1" in text


def test_split_is_stable() -> None:
    keys = [f"http://h/r/{i}" for i in range(2000)]
    splits = [split_of(k, valid=0.1, test=0.1, salt="s") for k in keys]
    assert splits == [split_of(k, valid=0.1, test=0.1, salt="s") for k in keys]
    share = splits.count("test") / len(splits)
    assert 0.07 < share < 0.13
    assert splits != [split_of(k, valid=0.1, test=0.1, salt="other") for k in keys]


def test_clean_and_language() -> None:
    assert clean_text("A&nbsp;b\u200b  c\x07") == "A b c"
    assert detect_language("el vestido es muy bonito pero la talla no es la correcta") == "es"
    assert detect_language("Это платье очень красивое") == "ru"


def test_config_errors_all_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_build_config(
            {
                "colums": {},
                "filters": {"min_chars": {"text": -1}, "langage": {}},
                "split": {"valid": 0.6, "test": 0.5},
                "dedupe": {"near_threshold": 2},
            }
        )
    text = str(info.value)
    assert "Did you mean 'columns'?" in text
    assert "Did you mean 'language'?" in text
    assert (
        "The 'filters.min_chars' option of the dataset config must be a mapping of column" in text
    )
    assert "split.valid + split.test = 1.1: make them sum to less than 1." in text
    assert (
        "The 'dedupe.near_threshold' option of the dataset config must be a float in (0, 1]" in text
    )


def test_unknown_column(records: str, tmp_path: Path) -> None:
    config = parse_build_config({"columns": {"text": "txet"}})
    with pytest.raises(DataError, match="Did you mean 'text'"):
        build_dataset(records, config, tmp_path / "o.parquet")


def test_cli_reports_errors_without_traceback(
    records: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "d.yaml"
    bad.write_text("labels: {s: {from: rating, mapp: {}}}\n")
    code = main(
        ["dataset", "build", records, "--config", str(bad), "-o", str(tmp_path / "o.parquet")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Did you mean 'map'?" in err
    assert "Traceback" not in err
    assert main(["dataset", "build", str(tmp_path / "none.db"), "-o", "x.parquet"]) == 2
    assert "no such crawl store" in capsys.readouterr().err


def test_crawl_cli_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "crawl.yaml"
    cfg.write_text("start_urls: [http://127.0.0.1/]\npoliteness: {concurency: 3}\n")
    assert main(["crawl", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'concurrency'?" in err
    assert "Traceback" not in err


def test_label_absent_from_train_is_cleared_and_reported(tmp_path: Path) -> None:
    urls = [f"http://site:{8000 + i}/r/{i}" for i in range(400)]
    rare = next(
        u
        for u in urls
        if split_of("/r/" + u.rsplit("/", 1)[1], valid=0.1, test=0.1, salt="manyheads") == "test"
    )
    frame = pd.DataFrame(
        {
            "url": urls,
            "text": [f"review number {i} text" for i in range(400)],
            "category": ["Tops" if u != rare else "Trend" for u in urls],
        }
    )
    frame.to_csv(tmp_path / "records.csv", index=False)
    config = parse_build_config(
        {"labels": {"department": {"from": "category"}}, "split": {"valid": 0.1, "test": 0.1}}
    )
    summary = build_dataset(str(tmp_path / "records.csv"), config, tmp_path / "out.parquet")
    out = pd.read_parquet(tmp_path / "out.parquet")
    row = out[out.url == rare].iloc[0]
    assert row["split"] == "test"  # the host and port do not enter the hash
    assert pd.isna(row["department"])
    assert summary.cleared == {"department": {"Trend": 1}}
    assert "absent from train, cleared in valid/test: Trend 1" in str(summary)


def test_summary_never_shows_a_store_password() -> None:
    from manyheads.curation._build import BuildSummary

    text = str(BuildSummary(source="postgresql://crawler:pw123@db/crawl", output="out.parquet"))
    assert "pw123" not in text
    assert "postgresql://crawler:***@db/crawl -> out.parquet" in text


def _reviews(n: int = 36) -> pd.DataFrame:
    """``n`` distinct reviews and a 3-value category: the first string column, alphabetically
    and in order, which the old default deduplicated on (keeping 3 rows)."""
    words = ["soft", "warm", "tight", "loose", "bright", "dull", "cheap", "sturdy", "thin"]
    return pd.DataFrame(
        {
            "url": [f"http://h/r/{i}" for i in range(n)],
            "category": [("Tops", "Dresses", "Jackets")[i % 3] for i in range(n)],
            "review": [
                f"Review {i}: the fabric is {words[i % 9]} and {words[(i // 9) % 9]}, "
                f"I wore it {i} times before it changed."
                for i in range(n)
            ],
            "rating": [1 + i % 5 for i in range(n)],
        }
    )


def test_default_build_keeps_every_distinct_page_never_keying_on_a_label(tmp_path: Path) -> None:
    _reviews().to_parquet(tmp_path / "records.parquet", index=False)
    summary = build_dataset(
        str(tmp_path / "records.parquet"), parse_build_config({}), tmp_path / "plain.parquet"
    )
    assert summary.n_read == summary.n_kept == 36
    assert len(pd.read_parquet(tmp_path / "plain.parquet")) == 36
    assert summary.dedupe.startswith("on review (the longest text column")


def test_default_build_drops_repeated_text_and_lists_every_dropped_row(tmp_path: Path) -> None:
    frame = _reviews()
    repeats = frame.iloc[[3, 7]].assign(url=["http://h/r/x1", "http://h/r/x2"])
    pd.concat([frame, repeats]).to_parquet(tmp_path / "records.parquet", index=False)
    summary = build_dataset(
        str(tmp_path / "records.parquet"), parse_build_config({}), tmp_path / "plain.parquet"
    )
    assert summary.n_kept == 36
    assert dict(summary.dropped)["exact duplicates"] == 2
    assert summary.dropped_rows["exact duplicates"] == [
        "http://h/r/x1 (same as http://h/r/3)",
        "http://h/r/x2 (same as http://h/r/7)",
    ]
    assert sum(n for _, n in summary.dropped) == summary.n_read - summary.n_kept
    text = str(summary)
    assert "http://h/r/x1 (same as http://h/r/3)" in text
    assert "dedupe: on review" in text


def test_default_build_without_a_main_text_does_not_dedupe(tmp_path: Path) -> None:
    frame = _reviews()[["url", "category", "rating"]]
    frame.to_parquet(tmp_path / "records.parquet", index=False)
    summary = build_dataset(
        str(tmp_path / "records.parquet"), parse_build_config({}), tmp_path / "plain.parquet"
    )
    assert summary.n_kept == 36
    assert summary.dedupe.startswith("off (no main text column")
    assert "set dedupe.column" in str(summary)


def test_cli_build_replaces_its_output_only_with_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _reviews().to_parquet(tmp_path / "records.parquet", index=False)
    out = str(tmp_path / "o.parquet")
    argv = ["dataset", "build", str(tmp_path / "records.parquet"), "-o", out]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "already exists. Pass --overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet", "records.parquet"]


def test_cli_build_help_says_what_the_default_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dataset", "build", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "drop exact and near duplicates of the main text column only" in out
    assert "never a short label field" in out
