"""``synthetic-ccp``: impressions -> clicks -> purchases with known true probabilities.

A seeded world of users and items (latent vectors, observed features, item popularity) is drawn
once; impressions are then drawn in chunks of :data:`CHUNK` rows, each chunk from its own child
of the seed, so the data depend only on ``(seed, n_impressions)`` and 10M rows take minutes.
For every impression (all vectorised numpy):

* ``z ~ N(0, 1)``: the user's unobserved intent at that moment, shared by click and purchase;
* ``p_click = exam(position) * sigmoid(a_c + r_c(user, item) + z)``, with the position bias
  ``exam(k) = k^-0.7`` (an examination model: lower slots are seen less);
* ``p_cvr = sigmoid(a_v + r_v(user, item) - 0.6 log(price) + z)``: the probability of a purchase
  *had the impression been clicked*. ``r_v`` shares half of its latent structure with ``r_c``.
* ``click ~ Bernoulli(p_click)``, ``conversion_if_clicked ~ Bernoulli(p_cvr)`` (for every row),
  ``purchase = click * conversion_if_clicked`` (the observed CTCVR label) and ``conversion`` =
  ``conversion_if_clicked`` on clicked rows, missing elsewhere (the observed CVR label).

Because ``z`` raises both probabilities, clicked impressions convert more often than unclicked
ones would have (the sample-selection bias of ESMM, Ma et al. SIGIR 2018), and items rarely clicked
are rarely seen by a model trained on clicked rows only. ``conversion_if_clicked``, ``p_click``
and ``p_cvr`` are the known truth (never inputs): the *whole-space CVR AUC* is the AUC of a
model's pCVR against ``conversion_if_clicked`` over all impressions (docs/ranking.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from manyheads.builtin_datasets._ccp import ccp_splits
from manyheads.builtin_datasets._registry import DatasetSplits
from manyheads.errors import InvalidParameterError

__all__ = [
    "CHUNK",
    "INPUTS",
    "TRUTH",
    "generate_synthetic_ccp",
    "load_synthetic_ccp",
    "synthetic_ccp_chunks",
    "write_synthetic_ccp",
]

#: Impressions per chunk; each chunk draws from its own child seed (part of the data's identity).
CHUNK = 1_000_000
#: The input columns and their kinds.
INPUTS: dict[str, str] = {
    "user_id": "categorical",
    "user_segment": "categorical",
    "user_age": "categorical",
    "user_gender": "categorical",
    "item_id": "categorical",
    "item_category": "categorical",
    "item_brand": "categorical",
    "position": "categorical",
    "item_price": "numeric",
    "user_activity": "numeric",
}
#: The known truth per impression (never an input).
TRUTH = ("p_click", "p_cvr", "conversion_if_clicked")
_DIM = 8
_N_POSITIONS = 10


@dataclass(frozen=True)
class _World:
    """Users and items: latent factors, observed features and how often each is shown."""

    user_click: np.ndarray  # [U, D] user factors projected for the click score
    user_cvr: np.ndarray  # [U, D] ... and for the conversion score
    user_bias: np.ndarray  # [U]
    user_weight: np.ndarray  # [U] probability of an impression going to the user
    user_cols: dict[str, np.ndarray]
    item_latent: np.ndarray  # [I, D]
    item_bias: np.ndarray  # [I]
    item_weight: np.ndarray  # [I]
    item_price: np.ndarray  # [I]
    item_cols: dict[str, np.ndarray]


def _world(rng: np.random.Generator, n_users: int, n_items: int) -> _World:
    u = rng.normal(size=(n_users, _DIM))
    v = rng.normal(size=(n_items, _DIM))
    a = rng.normal(size=(_DIM, _DIM)) / _DIM
    b = 0.5 * a + 0.5 * rng.normal(size=(_DIM, _DIM)) / _DIM  # CVR shares half of CTR's structure
    activity = rng.lognormal(0.0, 1.0, size=n_users)
    popularity = rng.normal(size=n_items)
    segment = np.argmax(u @ rng.normal(size=(_DIM, 8)), axis=1)
    category = np.argmax(v @ rng.normal(size=(_DIM, 20)), axis=1)
    price = np.exp(1.0 + 0.5 * category / 20 + 0.6 * rng.normal(size=n_items))
    return _World(
        user_click=u @ a * 2.0,
        user_cvr=u @ b * 2.0,
        user_bias=0.3 * rng.normal(size=n_users),
        user_weight=activity / activity.sum(),
        user_cols={
            "user_segment": segment,
            "user_age": np.clip((u[:, 0] * 1.5 + 3.5).round(), 0, 6).astype(np.int64),
            "user_gender": (u[:, 1] + 0.5 * rng.normal(size=n_users) > 0).astype(np.int64),
            "user_activity": np.log(activity),
        },
        item_latent=v,
        item_bias=0.5 * popularity,
        item_weight=np.exp(popularity) / np.exp(popularity).sum(),
        item_price=price,
        item_cols={
            "item_category": category,
            "item_brand": rng.integers(0, max(2, n_items // 20), size=n_items),
        },
    )


def _chunk(world: _World, rng: np.random.Generator, n: int) -> pd.DataFrame:
    users = rng.choice(len(world.user_weight), size=n, p=world.user_weight)
    items = rng.choice(len(world.item_weight), size=n, p=world.item_weight)
    position = rng.integers(1, _N_POSITIONS + 1, size=n)
    z = rng.normal(size=n)
    v = world.item_latent[items]  # [n, D]
    r_click = np.einsum("nd,nd->n", world.user_click[users], v) + world.item_bias[items]
    r_cvr = np.einsum("nd,nd->n", world.user_cvr[users], v) + world.user_bias[users]
    exam = position.astype(np.float64) ** -0.7
    p_click = exam / (1.0 + np.exp(-(-3.0 + r_click + z)))
    p_cvr = 1.0 / (1.0 + np.exp(-(-2.2 + r_cvr - 0.6 * np.log(world.item_price[items]) + z)))
    click = (rng.random(n) < p_click).astype(np.int8)
    converted = (rng.random(n) < p_cvr).astype(np.int8)
    frame = {
        "user_id": users,
        **{k: c[users] for k, c in world.user_cols.items() if k != "user_activity"},
        "item_id": items,
        **{k: c[items] for k, c in world.item_cols.items()},
        "position": position,
        "item_price": world.item_price[items].round(2),
        "user_activity": world.user_cols["user_activity"][users].round(3),
        "click": click,
        "purchase": (click * converted).astype(np.int8),
        "conversion": np.where(click == 1, converted, np.nan),  # float: NaN = missing
        "p_click": p_click,
        "p_cvr": p_cvr,
        "conversion_if_clicked": converted,
    }
    return pd.DataFrame(frame)


def _check(n_impressions: int, seed: int) -> None:
    if isinstance(n_impressions, bool) or not isinstance(n_impressions, int) or n_impressions < 10:
        raise InvalidParameterError(
            "The 'n_impressions' option of synthetic-ccp must be an int >= 10. "
            f"Got {n_impressions!r} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidParameterError(
            f"The 'seed' option of synthetic-ccp must be an int >= 0. Got {seed!r} instead."
        )


def synthetic_ccp_chunks(
    n_impressions: int, *, seed: int = 0, n_users: int | None = None, n_items: int | None = None
) -> Iterator[pd.DataFrame]:
    """The impressions of :func:`generate_synthetic_ccp`, :data:`CHUNK` rows at a time.

    ``n_users`` defaults to ``max(200, n_impressions // 50)`` and ``n_items`` to
    ``max(100, n_impressions // 200)``, so the number of impressions per user and per item stays
    the same at every size.
    """
    _check(n_impressions, seed)
    streams = np.random.SeedSequence(seed).spawn(1 + -(-n_impressions // CHUNK))
    n_users = n_users or max(200, n_impressions // 50)
    n_items = n_items or max(100, n_impressions // 200)
    world = _world(np.random.default_rng(streams[0]), n_users, n_items)
    for i, stream in enumerate(streams[1:]):
        n = min(CHUNK, n_impressions - i * CHUNK)
        yield _chunk(world, np.random.default_rng(stream), n)


def generate_synthetic_ccp(n_impressions: int, *, seed: int = 0) -> pd.DataFrame:
    """All impressions in one frame (inputs, labels and the known truth; see the module).

    Example:
        >>> df = generate_synthetic_ccp(1000, seed=0)
        >>> bool((df.purchase <= df.click).all()), int(df.conversion.isna().sum() > 0)
        (True, 1)
    """
    return pd.concat(list(synthetic_ccp_chunks(n_impressions, seed=seed)), ignore_index=True)


def write_synthetic_ccp(
    path: str | Path, n_impressions: int, *, seed: int = 0, overwrite: bool = False
) -> Path:
    """Write the impressions to one Parquet file, chunk by chunk (memory: one chunk).

    The file is written under a temporary name and renamed when complete; an existing file is
    replaced only with ``overwrite``.

    Raises:
        DataError: ``path`` exists (without ``overwrite``), is not ``.parquet``, or its folder
            cannot be written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from manyheads._output_file import atomic_write, check_output_file

    target = check_output_file(
        path, overwrite=overwrite, extensions=(".parquet",), option="the output path"
    )
    _check(n_impressions, seed)
    with atomic_write(target) as partial:
        writer: pq.ParquetWriter | None = None
        try:
            for frame in synthetic_ccp_chunks(n_impressions, seed=seed):
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(partial, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    return target


def load_synthetic_ccp(
    *, n_impressions: int = 200_000, seed: int = 0, test_fraction: float = 0.2
) -> DatasetSplits:
    """Load ``synthetic-ccp``: ``click`` (CTR) and ``purchase`` (CTCVR) on every impression.

    The last ``test_fraction`` of the impressions is the test split and the 10% before it the
    validation split (the impressions are exchangeable, so this is a random split). Every frame
    also has ``conversion`` (CVR label, missing where not clicked) and the truth columns
    :data:`TRUTH`.

    Args:
        n_impressions: how many impressions (all splits together).
        seed: the seed of the world and of the impressions.
        test_fraction: share of the impressions held out for test, in (0, 0.5].
    """
    number = isinstance(test_fraction, int | float) and not isinstance(test_fraction, bool)
    if not number or not 0.0 < test_fraction <= 0.5:
        raise InvalidParameterError(
            "The 'test_fraction' option of synthetic-ccp must be in (0, 0.5]. "
            f"Got {test_fraction!r} instead."
        )
    frame = generate_synthetic_ccp(n_impressions, seed=seed)
    n_test = max(1, int(n_impressions * test_fraction))
    n_valid = max(1, n_impressions // 10)
    n_train = n_impressions - n_test - n_valid
    parts = {
        "train": frame.iloc[:n_train],
        "valid": frame.iloc[n_train : n_train + n_valid],
        "test": frame.iloc[n_train + n_valid :],
    }
    return ccp_splits(
        "synthetic-ccp",
        parts,
        where=f"<synthetic-ccp seed={seed} n={n_impressions}>",
        inputs=dict(INPUTS),
        description=f"synthetic-ccp, {n_impressions:,} impressions, seed {seed}",
    )
