"""A real ``manyheads serve`` of four models answers exactly what ``manyheads predict`` writes
for the same rows: tabular, text, tagging and image (class + box) models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
from tests.serve._server import Server, as_records, predict_file, sentences


def _post(server: Server, model: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models/{model}/predict", json=body, timeout=60)


def test_census_predictions_equal_the_prediction_file(
    server: Server, census_run: Path, census_rows: list[dict[str, object]], tmp_path: Path
) -> None:
    expected = as_records(predict_file(census_run, census_rows, tmp_path / "census.parquet"))
    r = _post(server, "census", {"rows": census_rows})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "census"
    assert body["predictions"] == expected  # every key and value, floats to the last bit
    columns = ["income", "income_proba", "never_married", "never_married_proba"]
    assert list(body["predictions"][0]) == columns
    # one row alone: the same values
    assert (
        _post(server, "census", {"rows": census_rows[3:4]}).json()["predictions"] == expected[3:4]
    )


def test_some_tasks_give_only_their_columns(
    server: Server, census_run: Path, census_rows: list[dict[str, object]], tmp_path: Path
) -> None:
    expected = as_records(predict_file(census_run, census_rows[:5], tmp_path / "c.parquet"))
    r = _post(server, "census", {"rows": census_rows[:5], "tasks": ["never_married"]})
    assert r.status_code == 200, r.text
    wanted = [{k: v for k, v in e.items() if k.startswith("never_married")} for e in expected]
    assert r.json()["predictions"] == wanted


def test_unseen_category_is_predicted_as_predict_does(
    server: Server, census_run: Path, census_rows: list[dict[str, object]], tmp_path: Path
) -> None:
    import manyheads as mh

    inputs = mh.load(census_run).preprocessor.inputs
    column = next(c for c, k in inputs.items() if k == "categorical")
    rows = [dict(census_rows[0], **{column: "a value never seen in training"}), census_rows[1]]
    rows[1][column] = None  # a missing cell
    expected = as_records(predict_file(census_run, rows, tmp_path / "unseen.parquet"))
    r = _post(server, "census", {"rows": rows})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == expected


def test_text_model(server: Server, reviews_run: Path, tmp_path: Path) -> None:
    import manyheads as mh

    test = mh.load_dataset("womens-clothing-reviews", limit=300).valid
    rows = [{"review": text} for text in test["review"].head(30)]
    rows.append({"review": "zyxxy qwerty unknown words only"})
    rows.append({"review": None})
    expected = as_records(predict_file(reviews_run, rows, tmp_path / "reviews.parquet"))
    r = _post(server, "reviews", {"rows": rows})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == expected
    assert set(expected[0]) == {
        "department", "department_proba", "rating", "rating_proba",
        "recommended", "recommended_proba",
    }  # fmt: skip


def test_tagging_model(server: Server, tagging_run: Path, tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"tokens": s["tokens"]} for s in sentences(12, 5)]
    rows.append({"tokens": ["Zed", "visits", "Atlantis", "."]})  # unknown words
    expected = as_records(predict_file(tagging_run, rows, tmp_path / "tags.parquet"))
    r = _post(server, "tagging", {"rows": rows})
    assert r.status_code == 200, r.text
    predictions = r.json()["predictions"]
    assert predictions == expected
    assert [len(p["pos"]) for p in predictions] == [len(row["tokens"]) for row in rows]  # type: ignore[arg-type]
    assert _post(server, "tagging", {"rows": rows[:2], "tasks": ["ner"]}).json()["predictions"] == [
        {"ner": e["ner"]} for e in expected[:2]
    ]


def test_image_model_with_boxes(
    server: Server, image_run: Path, image_data: Any, tmp_path: Path
) -> None:
    images = image_data.test["image"].head(8)
    rows = [{"image": np.asarray(img).tolist()} for img in images]
    expected = as_records(predict_file(image_run, rows, tmp_path / "img.parquet"))
    r = _post(server, "image", {"rows": rows})
    assert r.status_code == 200, r.text
    predictions = r.json()["predictions"]
    assert predictions == expected
    assert {"label", "label_proba", "box_x1", "box_y2", "box_x1_px"} <= set(predictions[0])
    # C x H x W with one channel is the same image
    chw = [{"image": [row["image"]]} for row in rows[:2]]
    assert _post(server, "image", {"rows": chw}).json()["predictions"] == expected[:2]


def test_several_models_listed_and_described(server: Server, census_run: Path) -> None:
    import manyheads as mh

    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/ready").json()
    assert ready == {"status": "ready", "models": ["census", "reviews", "tagging", "image"]}
    listed = httpx.get(f"{server.url}/v1/models").json()["models"]
    assert [m["name"] for m in listed] == ["census", "reviews", "tagging", "image"]
    assert listed[2]["tasks"] == ["pos", "ner"]

    info = httpx.get(f"{server.url}/v1/models/census").json()
    run = mh.load(census_run)
    assert info["engine"] == "torch"
    assert info["manyheads_version"] == mh.__version__
    assert info["architecture"] == "mmoe"
    assert info["tasks"][0]["name"] == "income"
    assert info["tasks"][0]["type"] == "binary"
    assert info["tasks"][0]["classes"] == run.fitted_tasks[0].state["classes"]
    assert info["tasks"][0]["columns"] == ["income", "income_proba"]
    assert info["inputs"] == [{"name": c, "kind": k} for c, k in run.preprocessor.inputs.items()]
    assert info["metrics"]["tasks"]["income"]["primary"] == "auc"
    tags = httpx.get(f"{server.url}/v1/models/tagging").json()["tasks"]
    assert "B-LOC" in tags[1]["tags"]
