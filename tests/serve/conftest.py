"""Fixtures of the service tests: tiny runs trained once per session, servers started by tests."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

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
