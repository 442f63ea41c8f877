"""The names of the balancing method before 0.2 still work and warn once, naming the new one."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pytest

import manyheads as mh
from manyheads.config._renamed import current_key, renamed_train_keys
from manyheads.config.load import build_config, load_config
from manyheads.errors import ConfigError

T = TypeVar("T")

RAW = {"data": {"train": "t.csv"}, "tasks": {"y": {"type": "binary"}}}
KEY = r"'train\.weighting' is deprecated and will be removed in 0\.3: use 'train\.method'\."


def _only(record: pytest.WarningsRecorder, *messages: str) -> None:
    """Exactly one FutureWarning per expected message, and nothing else."""
    assert [str(w.message) for w in record] == list(messages)
    assert all(w.category is FutureWarning for w in record)


def test_the_old_keys_of_a_config_file_warn_once_each(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "data: {train: t.csv}\ntasks: {y: {type: binary}}\n"
        "train: {weighting: cagrad, weighting_options: {c: 0.4}}\n"
    )
    with pytest.warns(FutureWarning) as record:
        config = load_config(path)
    _only(
        record,
        "'train.weighting' is deprecated and will be removed in 0.3: use 'train.method'.",
        "'train.weighting_options' is deprecated and will be removed in 0.3: "
        "use 'train.method_options'.",
    )
    assert (config.method, config.method_options) == ("cagrad", {"c": 0.4})
    assert config.to_dict()["train"]["method"] == "cagrad"
    assert "weighting" not in config.to_dict()["train"]


def test_an_old_key_as_an_override_warns_once(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text("data: {train: t.csv}\ntasks: {y: {type: binary}}\n")
    with pytest.warns(FutureWarning, match=KEY) as record:
        config = load_config(path, ["train.weighting=mgda"])
    assert len(record) == 1
    assert config.method == "mgda"


def test_old_and_new_key_together_are_refused_naming_both() -> None:
    raw = {**RAW, "train": {"weighting": "uw", "method": "mgda"}}
    with pytest.raises(ConfigError) as info:
        build_config(raw)
    assert info.value.problems == [
        "'train.weighting' and 'train.method' are both given: 'weighting' is the deprecated "
        "name of 'method'. Keep only 'train.method'.",
    ]


def test_an_unknown_method_under_the_old_key_is_reported_under_the_new_one() -> None:
    with pytest.warns(FutureWarning, match=KEY), pytest.raises(ConfigError) as info:
        build_config({**RAW, "train": {"weighting": "eww"}})
    assert info.value.problems[0].startswith("unknown method 'eww' in 'train.method'.")


def test_a_saved_run_config_is_read_silently() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = build_config({**RAW, "train": {"weighting": "uw"}}, saved_run=True)
    assert config.method == "uw"


def test_renaming_leaves_the_callers_mapping_alone() -> None:
    raw = {"train": {"weighting": "uw", "lr": 0.1}}
    assert renamed_train_keys(raw, [], warn=False) == {"train": {"lr": 0.1, "method": "uw"}}
    assert raw == {"train": {"weighting": "uw", "lr": 0.1}}


def test_current_key_renames_only_the_old_train_keys() -> None:
    assert current_key("train.weighting") == "train.method"
    assert current_key("train.weighting_options.rep_grad") == "train.method_options.rep_grad"
    assert current_key("model.weighting") == "model.weighting"
    assert current_key("train.weightings") == "train.weightings"


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=64)})
    frame["y"] = (frame.x > 0).astype(int)
    frame["z"] = 2.0 * frame.x
    return frame


TASKS = [mh.Task("y", type="binary"), mh.Task("z", type="regression")]


def test_fit_weighting_warns_once_and_trains_the_same_as_method() -> None:
    kwargs = {"tasks": TASKS, "epochs": 1, "batch_size": 32, "seed": 0}
    with pytest.warns(FutureWarning) as record:
        old = mh.fit(_frame(), weighting="dwa", weighting_options={"temperature": 3.0}, **kwargs)
    _only(
        record,
        "The 'weighting' parameter of fit() is deprecated and will be removed in 0.3: "
        "use 'method'.",
        "The 'weighting_options' parameter of fit() is deprecated and will be removed in 0.3: "
        "use 'method_options'.",
    )
    new = mh.fit(_frame(), method="dwa", method_options={"temperature": 3.0}, **kwargs)
    assert old.history == new.history


def test_fit_with_weighting_and_method_is_refused() -> None:
    with pytest.raises(ConfigError, match="fit\\(\\) got both 'weighting' and 'method'"):
        mh.fit(_frame(), tasks=TASKS, weighting="uw", method="uw", epochs=1)


def _warns_once(call: Callable[[], T], message: str) -> T:
    """``call()``, which must warn exactly once: a FutureWarning with ``message``."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = call()
    assert [(w.category, str(w.message)) for w in record] == [(FutureWarning, message)]
    return result


def test_create_weighting_and_list_weightings_warn_once() -> None:
    method = _warns_once(
        lambda: mh.create_weighting("mgda", 3),
        "'create_weighting' is deprecated and will be removed in 0.3: use 'create_method'.",
    )
    names = _warns_once(
        mh.list_weightings,
        "'list_weightings' is deprecated and will be removed in 0.3: use 'list_methods'.",
    )
    assert repr(method) == repr(mh.create_method("mgda", 3))
    assert names == mh.list_methods()


def test_the_weighting_package_names_warn_too() -> None:
    import manyheads.weighting as weighting

    registry = _warns_once(
        lambda: weighting.WEIGHTINGS,
        "'manyheads.weighting.WEIGHTINGS' is deprecated and will be removed in 0.3: "
        "use 'manyheads.METHODS'.",
    )
    assert registry is mh.METHODS
    names = _warns_once(
        weighting.list_weightings,
        "'list_weightings' is deprecated and will be removed in 0.3: use 'list_methods'.",
    )
    assert names == mh.list_methods()


def test_run_config_weighting_attributes_warn_once() -> None:
    config = build_config({**RAW, "train": {"method": "uw", "method_options": {"a": 1}}})
    name = _warns_once(
        lambda: config.weighting,
        "'RunConfig.weighting' is deprecated and will be removed in 0.3: use 'RunConfig.method'.",
    )
    options = _warns_once(
        lambda: config.weighting_options,
        "'RunConfig.weighting_options' is deprecated and will be removed in 0.3: "
        "use 'RunConfig.method_options'.",
    )
    assert (name, options) == ("uw", {"a": 1})


def test_the_cli_prints_a_deprecation_as_one_plain_warning_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "cfg.yaml").write_text(
        "data: {train: t.csv}\ntasks: {y: {type: binary}}\ntrain: {weighting: pcgrad}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "manyheads.cli.main", "validate", "cfg.yaml", "--no-data"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "manyheads validate: warning: 'train.weighting' is deprecated and will be removed in "
        "0.3: use 'train.method'."
    ]
