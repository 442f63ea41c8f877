"""The ``tabular_embed`` encoder: piecewise-linear, periodic and linear numeric embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.architectures import list_architectures
from manyheads.architectures._registry import architecture_options, create_model
from manyheads.data.preprocess import InputSpec, TablePreprocessor
from manyheads.encoders import build_input
from manyheads.encoders.numeric_embeddings import (
    N_FREQUENCIES,
    NUMERIC_EMBEDDINGS,
    NumericEmbeddingInput,
    PiecewiseLinearEncoding,
    gaussian_edges,
    quantile_edges,
)
from manyheads.errors import InvalidParameterError
from manyheads.tasks import Task

ENCODER_ARCHS = [a for a in list_architectures() if "encoder" in architecture_options(a)]


def test_ple_is_ones_before_the_bin_the_fraction_in_it_and_zeros_after() -> None:
    ple = PiecewiseLinearEncoding([[0.0, 1.0, 3.0, 7.0]])
    x = torch.tensor([[0.5], [2.5], [6.0], [1.0]])
    expected = torch.tensor(
        [
            [[0.5, 0.0, 0.0]],  # bin 1: (0.5 - 0) / 1
            [[1.0, 0.75, 0.0]],  # bin 2: (2.5 - 1) / 2
            [[1.0, 1.0, 0.75]],  # bin 3: (6 - 3) / 4
            [[1.0, 0.0, 0.0]],  # on an edge
        ]
    )
    torch.testing.assert_close(ple(x), expected, rtol=0, atol=1e-6)


def test_ple_keeps_a_slope_outside_the_train_range() -> None:
    ple = PiecewiseLinearEncoding([[0.0, 1.0, 3.0]])
    below, above = ple(torch.tensor([[-1.0], [5.0]]))
    torch.testing.assert_close(below, torch.tensor([[-1.0, 0.0]]))  # first bin: not clipped below
    torch.testing.assert_close(above, torch.tensor([[1.0, 2.0]]))  # last bin: not clipped above


def test_ple_pads_features_with_fewer_bins_with_zeros() -> None:
    ple = PiecewiseLinearEncoding([[0.0, 1.0, 2.0, 3.0], [0.0, 2.0]])
    out = ple(torch.tensor([[2.5, 3.0]]))  # [B, F, K]
    torch.testing.assert_close(out, torch.tensor([[[1.0, 1.0, 0.5], [1.5, 0.0, 0.0]]]))
    assert ple.n_bins.tolist() == [3, 1]


def test_quantile_edges_drop_repeats_and_give_a_constant_column_one_bin() -> None:
    values = torch.tensor([[0.0, 5.0, 0.0], [0.0, 5.0, 1.0], [1.0, 5.0, 2.0], [3.0, 5.0, 3.0]])
    edges = quantile_edges(values, 3)
    assert edges[0] == [0.0, 1.0, 3.0]  # quantiles 0, 0, 1, 3
    assert edges[1] == [5.0, 6.0]
    assert edges[2] == pytest.approx([0.0, 1.0, 2.0, 3.0])


def test_gaussian_edges_are_the_quantiles_of_a_standard_normal() -> None:
    draws = torch.randn(200_000, 1, generator=torch.Generator().manual_seed(0))
    (fitted,) = quantile_edges(draws, 8)
    (normal,) = gaussian_edges(1, 8)
    # Equal inner edges; the outer normal edges are finite where the sample's are its extremes.
    assert normal[1:-1] == pytest.approx(fitted[1:-1], abs=0.02)
    assert fitted[0] < normal[0] < normal[1]
    assert normal[-2] < normal[-1] < fitted[-1]


@pytest.mark.parametrize("numeric", NUMERIC_EMBEDDINGS)
def test_each_numeric_input_gets_d_embedding_numbers(numeric: str) -> None:
    layer = NumericEmbeddingInput(InputSpec(3, (4,), ()), numeric=numeric, d_embedding=5)
    x = {"num": torch.randn(7, 3), "cat": torch.zeros(7, 1, dtype=torch.long)}
    assert layer(x).shape == (7, 3 * 5 + 8)
    assert layer.out_dim == 3 * 5 + 8


def test_periodic_frequencies_start_at_sigma() -> None:
    torch.manual_seed(0)
    layer = NumericEmbeddingInput(InputSpec(200, (), ()), numeric="periodic", sigma=0.5)
    frequencies = layer.get_parameter("numeric.frequencies")
    assert frequencies.shape == (200, N_FREQUENCIES)
    # A normal truncated at 3 sigma has std 0.9866 sigma.
    assert frequencies.std().item() == pytest.approx(0.9866 * 0.5, rel=0.03)
    assert frequencies.abs().max().item() <= 1.5


def test_periodic_lite_shares_its_linear_layer_between_features() -> None:
    def n_params(numeric: str) -> int:
        layer = NumericEmbeddingInput(InputSpec(10, (), ()), numeric=numeric, d_embedding=4)
        return sum(p.numel() for p in layer.parameters())

    frequencies = 10 * N_FREQUENCIES
    assert n_params("periodic_lite") == frequencies + 2 * N_FREQUENCIES * 4 + 4
    assert n_params("periodic") == frequencies + 10 * (2 * N_FREQUENCIES * 4 + 4)


def test_ple_starts_as_a_linear_embedding() -> None:
    torch.manual_seed(0)
    ple = NumericEmbeddingInput(InputSpec(2, (), ()), numeric="ple", d_embedding=3)
    torch.manual_seed(0)
    linear = NumericEmbeddingInput(InputSpec(2, (), ()), numeric="linear", d_embedding=3)
    x = {"num": torch.randn(4, 2)}
    torch.testing.assert_close(ple(x), linear(x))


def test_missing_cells_are_the_mean_plus_an_embedded_indicator() -> None:
    frame = pd.DataFrame({"x": [1.0, None, 3.0, 4.0, None, 6.0], "y": [0, 1, 0, 1, 0, 1]})
    pre = TablePreprocessor({"x": "numeric"}, [Task("y", type="binary")]).fit(frame)
    x = pre.transform(frame).x  # [z, missing]
    assert pre.spec.n_numeric == 2
    edges = quantile_edges(x["num"], 4)
    assert (edges[1][0], edges[1][-1]) == (0.0, 1.0)  # the indicator
    layer = build_input(
        pre.spec, encoder="tabular_embed", encoder_options={"edges": edges, "d_embedding": 3}
    )
    out = layer(x)
    assert out.shape == (6, 6)
    assert torch.isfinite(out).all()
    assert not torch.equal(out[0], out[1])


@pytest.mark.parametrize("arch", ENCODER_ARCHS)
def test_every_architecture_takes_it(arch: str) -> None:
    spec = InputSpec(3, (4, 2), ())
    options = {"encoder": "tabular_embed", "encoder_options": {"d_embedding": 4}}
    model = create_model(arch, spec, {"a": 1, "b": 3}, **options)
    x = {"num": torch.randn(5, 3), "cat": torch.zeros(5, 2, dtype=torch.long)}
    out = model.forward_heads(model.forward_features(x))
    assert out["a"].shape[0] == 5
    assert out["b"].shape == (5, 3)


def test_a_saved_model_keeps_its_bin_edges(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.exponential(size=64), "z": rng.normal(size=64)})
    frame["y"] = (frame["x"] > 1.0).astype(int)
    inputs = {"x": "numeric", "z": "numeric"}
    edges = [[-1.0, 0.0, 0.5, 3.0], [-2.0, 0.0, 2.0]]
    run = mh.fit(
        frame,
        tasks=[mh.Task("y", type="binary")],
        inputs=inputs,
        model_options={"encoder": "tabular_embed", "encoder_options": {"edges": edges}},
        epochs=1,
        batch_size=16,
    )
    predicted = run.predict(frame)
    loaded = mh.load(run.save(tmp_path / "bundle"))
    pd.testing.assert_frame_equal(loaded.predict(frame), predicted, check_exact=True)
    buffers = dict(loaded.model.named_buffers())
    (name,) = [n for n in buffers if n.endswith("encoding.edges")]
    torch.testing.assert_close(buffers[name][1], torch.tensor([-2.0, 0.0, 2.0, 2.0]))


def test_bad_edges_name_the_option_and_the_fix() -> None:
    spec = InputSpec(2, (), ())
    with pytest.raises(
        InvalidParameterError,
        match=r"'edges' option of the 'tabular_embed' encoder must be 2 lists.*Got '1 list\(s\)'",
    ):
        NumericEmbeddingInput(spec, edges=[[0.0, 1.0]])
    with pytest.raises(
        InvalidParameterError, match=r"Got \[1.0, 1.0\] instead. The list of numeric input 1"
    ):
        NumericEmbeddingInput(spec, edges=[[0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(InvalidParameterError, match="Did you mean 'periodic'"):
        NumericEmbeddingInput(spec, numeric="periodc")


def test_fitted_options_are_the_train_quantile_edges_of_ple_only() -> None:
    num = torch.arange(10.0)[:, None] ** 2  # [N, 1]
    fitted = NumericEmbeddingInput.fitted_options({"n_bins": 2}, num)
    assert fitted == {"edges": [[0.0, 20.5, 81.0]]}
    assert NumericEmbeddingInput.fitted_options({"numeric": "periodic"}, num) == {}
    assert NumericEmbeddingInput.fitted_options({"edges": [[0.0, 1.0]]}, num) == {}
    layer = NumericEmbeddingInput(InputSpec(1, (), ()), **fitted)
    assert layer.get_buffer("numeric.encoding.edges").tolist() == [[0.0, 20.5, 81.0]]


def test_a_run_fills_the_edges_from_its_train_split_and_saves_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.exponential(size=80)})
    frame["y"] = (frame["x"] > 1.0).astype(int)
    options = {"encoder": "tabular_embed", "encoder_options": {"n_bins": 4}}
    train, valid = frame.iloc[:60], frame.iloc[60:]
    run = mh.fit(
        train,
        valid=valid,
        tasks=[mh.Task("y", type="binary")],
        inputs={"x": "numeric"},
        model_options=options,
        epochs=1,
        batch_size=16,
        seed=0,
    )
    # the quantiles of the standardised TRAIN column, not of a standard normal or of all rows
    x = torch.tensor(train["x"].to_numpy(), dtype=torch.float64)
    z = ((x - x.mean()) / x.std(unbiased=False)).float()[:, None]
    expected = NumericEmbeddingInput.fitted_options({"n_bins": 4}, z)["edges"]
    saved = run.options["encoder_options"]["edges"]
    assert saved != gaussian_edges(1, 4)
    np.testing.assert_allclose(saved, expected, rtol=1e-5, atol=1e-6)
    loaded = mh.load(run.save(tmp_path / "bundle"))
    assert loaded.options["encoder_options"]["edges"] == saved
    pd.testing.assert_frame_equal(loaded.predict(frame), run.predict(frame), check_exact=True)


def test_edges_with_another_numeric_embedding_are_refused() -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"must be left out with numeric: 'periodic'\. Got '1 list\(s\)'",
    ):
        NumericEmbeddingInput(InputSpec(1, (), ()), numeric="periodic", edges=[[0.0, 1.0]])
