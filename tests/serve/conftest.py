"""Fixtures of the service tests: tiny runs trained once per session, servers started by tests."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from tests.serve._server import Server


@pytest.fixture(scope="session")
def serve_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="session")
def census_run(serve_root: Path, census_sample: pd.DataFrame) -> Path:
    """A one-epoch MMoE on 600 census rows (two binary tasks), written to a run folder."""
    import manyheads as mh

    parts = {
        name: census_sample[census_sample.split == name].head(n).drop(columns=["split"])
        for name, n in (("train", 600), ("valid", 200), ("test", 200))
    }
    out = serve_root / "census"
    mh.fit(
        parts["train"],
        valid=parts["valid"],
        test=parts["test"],
        tasks=[mh.Task("income", type="binary"), mh.Task("never_married", type="binary")],
        architecture="mmoe",
        model_options={"n_experts": 2, "expert_hidden": [8], "tower": [4]},
        epochs=1,
        batch_size=256,
        output=out,
    )
    return out


@pytest.fixture(scope="session")
def census_rows(census_sample: pd.DataFrame, census_run: Path) -> list[dict[str, object]]:
    """40 test rows of the census run's input columns as JSON objects."""
    import manyheads as mh

    inputs = list(mh.load(census_run).preprocessor.inputs)
    frame = census_sample[census_sample.split == "test"].tail(40)[inputs]
    rows: list[dict[str, object]] = json.loads(frame.to_json(orient="records"))
    return rows


@pytest.fixture
def server_factory(serve_root: Path) -> Iterator[type[Server]]:
    """Starts servers and stops those a test leaves running."""
    started: list[Server] = []

    class Started(Server):
        def __init__(self, args: Sequence[str], cwd: Path = serve_root, **kw: float) -> None:
            started.append(self)
            super().__init__(args, cwd, **kw)

    yield Started
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def reviews_run(serve_root: Path, shared_data: Path) -> Path:
    """A one-epoch BiLSTM on 300 clothing reviews (two multiclass tasks and a binary one)."""
    import manyheads as mh

    data = mh.load_dataset("womens-clothing-reviews", limit=300)
    out = serve_root / "reviews"
    mh.fit(
        data.train,
        valid=data.valid,
        tasks=list(data.tasks),
        inputs=dict(data.inputs),
        model_options={
            "encoder": "bilstm",
            "encoder_options": {"hidden": 16, "embedding_dim": 16, "min_count": 1},
        },
        epochs=1,
        batch_size=64,
        output=out,
    )
    return out


@pytest.fixture(scope="session")
def tagging_run(serve_root: Path) -> Path:
    """A one-epoch BiLSTM tagger (POS and BIO NER) on 60 toy sentences."""
    from tests.serve._server import sentences

    import manyheads as mh

    out = serve_root / "tagging"
    mh.fit(
        pd.DataFrame(sentences(60, 0)),
        valid=pd.DataFrame(sentences(20, 1)),
        tasks=[mh.Task("pos", type="tagging"), mh.Task("ner", type="tagging", scheme="bio")],
        inputs={"tokens": "tokens"},
        model_options={
            "encoder": "bilstm",
            "encoder_options": {"hidden": 16, "embedding_dim": 16, "min_count": 1},
        },
        epochs=1,
        batch_size=16,
        output=out,
    )
    return out


@pytest.fixture(scope="session")
def image_data(shared_data: Path) -> object:
    """Fashion-MNIST localisation: 64 x 64 images, a class and a box each."""
    import manyheads as mh

    return mh.load_dataset("fashion-mnist-loc", n_train=400, n_test=100, seed=1)


@pytest.fixture(scope="session")
def image_run(serve_root: Path, image_data: Any) -> Path:
    """A one-epoch MTAN (class + box) on 400 images."""
    import manyheads as mh

    out = serve_root / "image"
    mh.fit(
        image_data.train,
        test=image_data.test,
        tasks=list(image_data.tasks),
        inputs=dict(image_data.inputs),
        architecture="mtan",
        model_options={"channels": [4, 8], "tower": [16]},
        epochs=1,
        batch_size=100,
        output=out,
    )
    return out


@pytest.fixture(scope="session")
def server(
    serve_root: Path, census_run: Path, reviews_run: Path, tagging_run: Path, image_run: Path
) -> Iterator[Server]:
    """One ``manyheads serve`` of the four runs (the census run as its RUN argument), at most
    50 rows per request."""
    from tests.serve._server import Server

    args = [
        str(census_run),
        "--model",
        f"reviews={reviews_run}",
        "--model",
        f"tagging={tagging_run}",
    ]
    srv = Server([*args, "--model", f"image={image_run}", "--max-rows", "50"], serve_root)
    yield srv
    srv.stop()
