"""``gbdt``: scikit-learn's HistGradientBoosting, one model per task, at its default setting.

The setting of issue 17 (the model a tabular user would pick instead of manyheads):
``HistGradientBoostingClassifier/Regressor(max_iter=500, early_stopping=True,
random_state=seed, categorical_features="from_dtype")``, every other option at scikit-learn's
default.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from manyheads.baselines._base import Baseline, Classifier, Regressor
from manyheads.errors import DataError, InvalidParameterError

__all__ = ["GBDT"]

#: HistGradientBoosting's most categories per column (``max_bins``; missing has its own bin).
MAX_CATEGORIES = 255
#: The share of the training rows scikit-learn holds out for early stopping (its default).
VALIDATION_FRACTION = 0.1


class GBDT(Baseline):
    """Gradient-boosted trees per task (scikit-learn ``HistGradientBoosting``).

    Numeric columns go in as they are (missing cells as NaN, which the trees route on their
    own); categorical columns as pandas ``category`` columns whose categories are the training
    values, so a value unseen in training becomes NaN (missing). A column with more than 255
    training values keeps its 255 most frequent ones (ties in value order), the others become
    missing: HistGradientBoosting takes at most 255 categories. Text columns are dropped, as in
    the setting of issue 17.

    Early stopping is scikit-learn's own: the model holds out a random (for classes,
    stratified) 10% of the training rows it is given and stops when their loss has not improved
    for 10 iterations. The comparison's validation split is not used for it, so that this is
    the model a user gets from scikit-learn's defaults.

    Args:
        seed: ``random_state`` of every model (its early-stopping hold-out).

    Example:
        >>> frame = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"], "t": ["some words", ""]})
        >>> gbdt = GBDT(seed=0)
        >>> gbdt.fit_inputs(frame, {"x": "numeric", "c": "categorical", "t": "text"}, "f")
        >>> gbdt.features(pd.DataFrame({"x": [3.0], "c": ["z"], "t": ["x"]}), "g").dtypes.tolist()
        [dtype('float64'), CategoricalDtype(categories=['a', 'b'], ordered=False, ...)]
    """

    name: ClassVar[str] = "gbdt"

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.categories_: dict[str, list[str]] = {}

    def _fit_table(self, table: pd.DataFrame) -> None:
        """Learn each categorical column's categories; refuse a table of text columns only."""
        if not self.columns("numeric") + self.columns("categorical"):
            raise InvalidParameterError(
                f"The gbdt baseline drops text columns, and the inputs "
                f"({', '.join(self.fitted_inputs)}) hold no numeric or categorical column. "
                "Leave the gbdt baseline out of the comparison (the linear one reads text)."
            )
        self.categories_ = {c: _categories(table[c]) for c in self.columns("categorical")}

    def _transform(self, table: pd.DataFrame) -> pd.DataFrame:
        out = table.drop(columns=self.columns("text"))
        for column, categories in self.categories_.items():
            known = pd.Index(categories, dtype=object)
            codes = known.get_indexer(out[column].to_numpy(dtype=object))  # -1: unseen, missing
            out[column] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(known))
        return out

    def check_target(self, task: str, y: np.ndarray) -> None:
        """The stratified early-stopping hold-out needs two rows of every class and one
        held-out row per class (scikit-learn would stop with a traceback)."""
        classes, counts = np.unique(y, return_counts=True)
        held_out = int(np.ceil(VALIDATION_FRACTION * len(y)))
        if counts.min() < 2 or held_out < len(classes):
            raise DataError(
                f"the gbdt baseline cannot learn task '{task}': its early stopping holds out a "
                f"stratified {VALIDATION_FRACTION:.0%} of the labelled training rows, which "
                f"needs at least 2 rows of every class and {len(classes)} held-out rows; the "
                f"task has {len(y)} rows and its rarest class {counts.min()}. Add labelled "
                "rows, or leave the gbdt baseline out of the comparison."
            )

    def _settings(self) -> dict[str, object]:
        return {
            "max_iter": 500,
            "early_stopping": True,
            "random_state": self.seed,
            "categorical_features": "from_dtype",
        }

    def classifier(self) -> Classifier:
        """``HistGradientBoostingClassifier`` at the setting of issue 17."""
        model: Classifier = HistGradientBoostingClassifier(**self._settings())
        return model

    def regressor(self) -> Regressor:
        """``HistGradientBoostingRegressor`` at the setting of issue 17."""
        model: Regressor = HistGradientBoostingRegressor(**self._settings())
        return model

    def describe(self) -> str:
        """The estimators, their setting, and the text columns left out."""
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        dropped = self.columns("text") if self.inputs_ is not None else []
        return f"HistGradientBoosting({settings})" + (
            f"; text columns dropped: {', '.join(dropped)}" if dropped else ""
        )

    def summary(self, model: Regressor) -> str:
        """The estimator's class and the iterations early stopping kept."""
        return f"{type(model).__name__}, {getattr(model, 'n_iter_', '?')} iterations"


def _categories(column: pd.Series) -> list[str]:
    """The training values of a categorical column, the 255 most frequent if there are more.

    Example:
        >>> _categories(pd.Series(["b", "a", None, "b"]))
        ['a', 'b']
    """
    counts = column.dropna().astype(str).value_counts()
    if len(counts) > MAX_CATEGORIES:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        counts = pd.Series(dict(ranked[:MAX_CATEGORIES]))
    return sorted(str(v) for v in counts.index)
