"""The whole product path: review site -> crawl -> store -> dataset build -> manyheads train.

The same reviews also go straight from the CSV through the same cleaning and labels; both runs
train the same model, and their test metrics must agree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_cli, run_once
from crawl_helpers.review_site import make_review_site, review_crawl_yaml
from crawl_helpers.servers import serve_pages

pytestmark = pytest.mark.slow

N_REVIEWS = 500
DATASET = """\
columns: {text: text, department: category, rating: rating}
text: [text]
filters:
  required: [text, department]
  min_chars: {text: 20}
  language: {column: text, keep: [en]}
dedupe: {column: text, exact: true, near_threshold: 0.9}
labels:
  sentiment: {from: rating, map: {positive: '>= 4', negative: '<= 2'}}
  department: {from: department}
split: {valid: 0.15, test: 0.2}
"""
TRAIN = """\
data: {{train: {data}, split_column: split}}
inputs: {{text: text}}
tasks: {{department: {{type: multiclass}}, sentiment: {{type: binary}}}}
model: {{architecture: hps}}
train: {{epochs: 3, batch_size: 64, lr: 0.002, seed: 0}}
output: {out}
"""


def _train(tmp: Path, data: str, name: str) -> dict[str, Any]:
    (tmp / f"{name}.yaml").write_text(TRAIN.format(data=data, out=f"runs/{name}"))
    run_cli("train", f"{name}.yaml", cwd=tmp, timeout=300)
    metrics: dict[str, Any] = json.loads((tmp / "runs" / name / "metrics.json").read_text())
    return metrics


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import pandas as pd

    result = run_once(tmp_path_factory, "pipeline", _build)
    tmp = Path(result["tmp"])
    return {
        **result,
        "tmp": tmp,
        "site": make_review_site(N_REVIEWS),
        "crawled": pd.read_parquet(tmp / "reviews.parquet"),
        "direct": pd.read_parquet(tmp / "direct.parquet"),
    }


def _build(tmp: Path) -> dict[str, Any]:
    import pandas as pd

    site = make_review_site(N_REVIEWS)
    with serve_pages(site.pages) as server:
        (tmp / "crawl.yaml").write_text(review_crawl_yaml(server.url, "sqlite:///crawl.db"))
        crawl = run_cli("crawl", "crawl.yaml", cwd=tmp, timeout=200).stdout
        url = server.url
    (tmp / "dataset.yaml").write_text(DATASET)
    build = run_cli(
        "dataset",
        "build",
        "crawl.db",
        "--config",
        "dataset.yaml",
        "-o",
        "reviews.parquet",
        cwd=tmp,
    ).stdout
    # The same reviews, straight from the CSV, as the site renders them (title + text).
    reviews = site.reviews
    titles = reviews["Title"].where(reviews["Title"].notna(), "")
    direct = pd.DataFrame(
        {
            "url": [f"{url}/review/{i}" for i in reviews["idx"]],
            "text": (titles + " " + reviews["Review Text"]).str.strip(),
            "category": reviews["Department Name"],
            "rating": reviews["Rating"],
        }
    )
    direct.to_parquet(tmp / "direct_raw.parquet", index=False)
    run_cli(
        "dataset",
        "build",
        "direct_raw.parquet",
        "--config",
        "dataset.yaml",
        "-o",
        "direct.parquet",
        cwd=tmp,
    )
    return {"tmp": str(tmp), "crawl": crawl, "build": build}


def test_crawl_and_build_summary(pipeline: dict[str, Any]) -> None:
    n = N_REVIEWS + len(pipeline["site"].extra)
    assert f"{n} records written" in pipeline["crawl"]
    build = pipeline["build"]
    assert "dropped: exact duplicates" in build
    assert "label sentiment: positive" in build
    assert "(missing)" in build
    n_exact = sum(kind == "exact" for kind, _ in pipeline["site"].extra.values())
    n_near = sum(kind == "near" for kind, _ in pipeline["site"].extra.values())
    assert re.search(rf"dropped: exact duplicates +{n_exact}\n", build)
    assert re.search(rf"dropped: near duplicates +{n_near}\n", build)


def test_crawled_table_matches_the_csv(pipeline: dict[str, Any]) -> None:
    crawled, direct = pipeline["crawled"], pipeline["direct"]
    assert crawled["url"].tolist() == direct["url"].tolist()
    assert crawled["text"].tolist() == direct["text"].tolist()
    for column in ("department", "sentiment", "split"):
        assert crawled[column].tolist() == direct[column].tolist()
    assert crawled["sentiment"].isna().any()  # rating 3 -> missing label
    assert set(crawled["split"]) == {"train", "valid", "test"}


def test_train_on_crawled_data_matches_csv(pipeline: dict[str, Any]) -> None:
    tmp = pipeline["tmp"]
    crawled = _train(tmp, "reviews.parquet", "crawled")
    direct = _train(tmp, "direct.parquet", "direct")
    assert crawled["split"] == "test"
    for task in ("department", "sentiment"):
        a, b = crawled["tasks"][task], direct["tasks"][task]
        assert a["primary"] == b["primary"]
        assert abs(a[a["primary"]] - b[b["primary"]]) <= 0.02, (task, a, b)
    assert crawled["tasks"]["department"]["accuracy"] > 0.45
