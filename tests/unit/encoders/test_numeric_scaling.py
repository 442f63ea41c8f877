"""The ``numeric_scaling`` option of the tabular encoders: closed forms on toy columns, the fit
on the train split, and the option checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm
from sklearn.preprocessing import QuantileTransformer

from manyheads.data.preprocess import InputSpec
from manyheads.encoders import build_input
from manyheads.encoders.numeric_embeddings import NumericEmbeddingInput, quantile_edges
from manyheads.encoders.numeric_scaling import (
    NumericScaling,
    default_values,
    fit_scaling,
    quantile_levels,
)
from manyheads.encoders.tabular import TabularInput
from manyheads.errors import InvalidParameterError

#: A heavy-tailed column: a mass of zeros and a few huge values (capital gains).
HEAVY = torch.tensor([0.0] * 12 + [1.0, 2.0, 3.0, 50.0, 400.0, 9000.0])[:, None]


def test_robust_is_median_and_iqr_then_smooth_clip() -> None:
    column = torch.tensor([[1.0], [2.0], [4.0], [7.0], [11.0]])  # median 4, q25 2, q75 7
    values = fit_scaling("robust", column)
    assert values == [[4.0, 5.0]]
    out = NumericScaling("robust", values)(torch.tensor([[4.0], [9.0], [1e6]]))
    z = torch.tensor([0.0, 1.0, (1e6 - 4) / 5])
    expected = z / torch.sqrt(1 + (z / 3) ** 2)  # RealMLP's smooth clip, bounded by 3
    torch.testing.assert_close(out[:, 0], expected)
    assert out.max() <= 3.0


def test_robust_without_spread_falls_back_to_half_the_range_then_one() -> None:
    constant_iqr = torch.tensor([[0.0]] * 9 + [[10.0]])
    assert fit_scaling("robust", constant_iqr) == [[0.0, 5.0]]
    assert fit_scaling("robust", torch.ones(4, 1)) == [[1.0, 1.0]]


def test_quantile_maps_train_quantiles_to_normal_quantiles() -> None:
    column = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    values = fit_scaling("quantile", column, n_quantiles=5)
    assert values == [[0.0, 1.0, 2.0, 3.0, 4.0]]
    scale = NumericScaling("quantile", values)
    out = scale(torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0], [1.5], [-9.0], [99.0]]))[:, 0]
    levels = torch.tensor([1e-7, 0.25, 0.5, 0.75, 1 - 1e-7], dtype=torch.float64)
    normal = torch.special.ndtri(levels).float()
    torch.testing.assert_close(out[:5], normal)
    torch.testing.assert_close(out[5], (normal[1] + normal[2]) / 2)  # linear between knots
    torch.testing.assert_close(out[6:], normal[[0, 4]])  # clipped outside the train range


def test_quantile_matches_scikit_learn_at_the_train_quantiles() -> None:
    rng = np.random.default_rng(0)
    train = np.concatenate([np.zeros(300), rng.lognormal(3, 2, 700)])[:, None]
    reference = QuantileTransformer(n_quantiles=64, output_distribution="normal").fit(train)
    values = fit_scaling("quantile", torch.tensor(train), n_quantiles=64)
    knots = np.unique(reference.quantiles_[:, 0].astype(np.float32))[:, None]
    ours = NumericScaling("quantile", values)(torch.tensor(knots)).double().numpy()
    np.testing.assert_allclose(ours[1:], reference.transform(knots)[1:], atol=1e-4)
    # scikit-learn sends the minimum to -5.2 even when 30% of the rows hold it (the zeros);
    # here they get the mean of their levels, 0 .. 0.3, like any other tie
    assert ours[0, 0] == pytest.approx(norm.ppf(np.mean(np.linspace(0, 1, 64)[:19])), abs=1e-5)


def test_tied_quantiles_take_the_mean_of_their_levels() -> None:
    knots, targets = quantile_levels([0.0, 0.0, 0.0, 0.0, 5.0])
    assert knots == [0.0, 5.0]
    assert targets[0] == pytest.approx(norm.ppf(0.375))  # mean of levels 0, .25, .5, .75
    scale = NumericScaling("quantile", fit_scaling("quantile", HEAVY))
    out = scale(HEAVY)[:, 0]
    assert out[:12].unique().numel() == 1  # the zeros stay one value, near the middle
    assert torch.all(out[12:].diff() > 0)
    assert out.abs().max() < 5.3


def test_default_values_are_those_of_a_standard_normal_column() -> None:
    scale = NumericScaling("quantile", default_values("quantile", 1))
    x = torch.linspace(-2, 2, 9)[:, None]
    torch.testing.assert_close(scale(x), x, atol=2e-3, rtol=0)
    robust = NumericScaling("robust", default_values("robust", 2))
    assert robust(torch.zeros(1, 2)).abs().max() == 0


def test_fitted_options_scale_before_the_ple_edges_are_cut() -> None:
    num = torch.cat([HEAVY, torch.arange(18.0)[:, None]], dim=1)
    options = {"numeric_scaling": "quantile", "n_bins": 4}
    learnt = NumericEmbeddingInput.fitted_options(options, num)
    scaled = NumericScaling("quantile", learnt["scaling_values"])(num)
    assert learnt["edges"] == quantile_edges(scaled, 4)
    assert TabularInput.fitted_options(options, num).keys() == {"scaling_values"}
    assert TabularInput.fitted_options({}, num) == {}
    kept = {**options, "scaling_values": learnt["scaling_values"]}
    assert "scaling_values" not in TabularInput.fitted_options(kept, num)


@pytest.mark.parametrize("encoder", ["tabular", "tabular_embed"])
def test_the_encoder_reads_scaled_numbers(encoder: str) -> None:
    spec = InputSpec(1, (), ())
    x = {"num": HEAVY}
    values = fit_scaling("robust", HEAVY)
    torch.manual_seed(0)
    plain = build_input(spec, encoder=encoder)
    torch.manual_seed(0)
    options = {"numeric_scaling": "robust", "scaling_values": values}
    scaled = build_input(spec, encoder=encoder, encoder_options=options)
    torch.testing.assert_close(scaled(x), plain({"num": NumericScaling("robust", values)(HEAVY)}))


def test_values_with_standard_scaling_or_of_the_wrong_shape_are_refused() -> None:
    spec = InputSpec(2, (), ())
    with pytest.raises(InvalidParameterError, match=r"'scaling_values' option.*numeric_scaling"):
        TabularInput(spec, scaling_values=[[0.0, 1.0], [0.0, 1.0]])
    with pytest.raises(InvalidParameterError, match=r"2 lists \(one per numeric input\)"):
        TabularInput(spec, numeric_scaling="robust", scaling_values=[[0.0, 1.0]])
    with pytest.raises(InvalidParameterError, match=r"\[median, scale > 0\].*input 1"):
        TabularInput(spec, numeric_scaling="robust", scaling_values=[[0.0, 1.0], [0.0, 0.0]])
    with pytest.raises(InvalidParameterError, match=r"non-decreasing list.*input 0"):
        TabularInput(spec, numeric_scaling="quantile", scaling_values=[[2.0, 1.0], [0.0]])
    with pytest.raises(InvalidParameterError, match=r"'numeric_scaling' option.*'quantile'"):
        TabularInput(spec, numeric_scaling="quantiles")
