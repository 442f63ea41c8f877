"""``linear``: logistic regression (classes) or ridge regression (values), one model per task.

The linear baseline of issue 17: a scikit-learn ``Pipeline`` whose ``ColumnTransformer``
standardises the numeric columns (missing cells imputed with the training median), one-hot
encodes the categorical ones (a value unseen in training is all zeros) and turns each text
column into TF-IDF features of words and word pairs; then ``LogisticRegression`` or ``Ridge``
at scikit-learn's default regularisation.
"""

from __future__ import annotations

from typing import ClassVar

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from manyheads.baselines._base import Baseline, Classifier, Regressor

__all__ = ["MAX_ITER", "Linear"]

#: Iterations of the logistic regression's solver (lbfgs): enough to converge on the full
#: census-income table (199,523 rows) without a ConvergenceWarning.
MAX_ITER = 2000


class Linear(Baseline):
    """Logistic or ridge regression per task on standardised, one-hot and TF-IDF features.

    Each task's pipeline learns its encodings on the training rows that label the task.

    Args:
        seed: kept for the common signature; both solvers are deterministic.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"x": [1.0, None, 3.0], "c": ["a", "b", "a"]})
        >>> linear = Linear(seed=0)
        >>> linear.fit_inputs(frame, {"x": "numeric", "c": "categorical"}, "f")
        >>> model = linear.regressor().fit(linear.features(frame, "f"), [1.0, 2.0, 3.0])
        >>> model.predict(linear.features(frame, "f")).shape
        (3,)
    """

    name: ClassVar[str] = "linear"

    def _pipeline(self, model: object) -> Pipeline:
        parts: list[tuple[str, object, str | list[str]]] = []
        numeric, categorical = self.columns("numeric"), self.columns("categorical")
        if numeric:
            impute = SimpleImputer(strategy="median", keep_empty_features=True)
            parts.append(("numeric", make_pipeline(impute, StandardScaler()), numeric))
        if categorical:
            parts.append(("categorical", OneHotEncoder(handle_unknown="ignore"), categorical))
        for column in self.columns("text"):  # a column name, not a list: the vectoriser reads 1-D
            parts.append((f"text:{column}", TfidfVectorizer(ngram_range=(1, 2)), column))
        return Pipeline([("features", ColumnTransformer(parts)), ("model", model)])

    def classifier(self) -> Classifier:
        """``LogisticRegression(max_iter=2000)`` after the column encodings."""
        model: Classifier = self._pipeline(LogisticRegression(max_iter=MAX_ITER))
        return model

    def regressor(self) -> Regressor:
        """``Ridge()`` after the column encodings."""
        model: Regressor = self._pipeline(Ridge())
        return model

    def describe(self) -> str:
        """The estimators and the encoding of each kind of column."""
        counts = {k: len(self.columns(k)) for k in ("numeric", "categorical", "text")}
        return (
            f"LogisticRegression(max_iter={MAX_ITER}) / Ridge() on {counts['numeric']} "
            f"numeric (median-imputed, standardised), {counts['categorical']} one-hot and "
            f"{counts['text']} TF-IDF (1-2 grams) columns"
        )

    def summary(self, model: Regressor) -> str:
        """The estimator's class at the end of the pipeline."""
        steps = getattr(model, "named_steps", {})
        return type(steps.get("model", model)).__name__
