"""The ``tabular`` encoder's ``init_std``: where the categorical embeddings start."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.conftest import CLI

from manyheads.data.preprocess import InputSpec
from manyheads.encoders import TabularInput
from manyheads.errors import InvalidParameterError

SPEC = InputSpec(2, (300, 400), ())


def test_init_std_sets_the_embeddings_spread() -> None:
    torch.manual_seed(0)
    std = float(TabularInput(SPEC, embed_dim=8, init_std=0.01).embedding.weight.detach().std())
    assert std == pytest.approx(0.01, rel=0.05)


def test_default_is_nn_embeddings_draw_bit_for_bit() -> None:
    torch.manual_seed(0)
    default = TabularInput(SPEC, embed_dim=8).embedding.weight
    torch.manual_seed(0)
    assert torch.equal(TabularInput(SPEC, embed_dim=8, init_std=None).embedding.weight, default)
    assert float(default.detach().std()) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("bad", [0.0, -1.0, "small", True])
def test_init_std_must_be_positive(bad: object) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'init_std' option of the 'tabular' encoder must be a float > 0 or None\. "
        r"Got .* instead\.",
    ):
        TabularInput(SPEC, init_std=bad)  # type: ignore[arg-type]


def test_cli_refuses_a_bad_init_std_and_saves_a_good_one(
    cli: CLI, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    def config(value: str, out: str) -> Path:
        path = tmp_path / f"{out}.yaml"
        path.write_text(
            f"data: {{train: {census_files['train']}, valid: {census_files['valid']}}}\n"
            "inputs: {age: numeric, sex: categorical}\n"
            "tasks: {income: {type: binary}}\n"
            f"model: {{architecture: hps, hidden: [4], encoder_options: {{init_std: {value}}}}}\n"
            "train: {epochs: 1}\n"
            f"output: {tmp_path / out}\n"
        )
        return path

    done = cli("train", str(config("-0.5", "bad")), "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert "init_std" in done.stderr
    assert "must be a float > 0 or None. Got -0.5 instead." in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "bad").exists()
    done = cli("train", str(config("0.01", "good")), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    saved = "\n".join(p.read_text() for p in (tmp_path / "good").rglob("*.y*ml"))
    saved += "\n".join(p.read_text() for p in (tmp_path / "good").rglob("*.json"))
    assert "init_std" in saved
