"""Bad input to a streamed train: a clear message naming the file, row and column or the key,
exit code 2 without a traceback; and what streaming refuses or approximates, said."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from manyheads.config.load import load_config
from manyheads.data._parquet import ParquetSource
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.streaming import StreamedTrain, StreamOptions, fit_stream
from manyheads.errors import ConfigError, DataError, InvalidParameterError
from manyheads.tasks.task import Task
from tests.conftest import CLI
from tests.streaming.conftest import make_rows, write_config, write_parts


def test_cli_trains_a_directory_and_names_a_bad_cell(table_dir: Path, cli: CLI) -> None:
    cfg = write_config(table_dir)
    done = cli("train", str(cfg), "train.epochs=1", "output=run", cwd=table_dir)
    assert done.returncode == 0, done.stderr
    assert "3 Parquet file(s), 12 row groups, 3000 rows" in done.stdout + done.stderr
    assert (table_dir / "run" / "model.safetensors").exists()
    rows = make_rows(3000, 1)
    rows["x"] = [None if pd.isna(v) else str(v) for v in rows["x"]]  # a text column in Parquet
    rows.loc[1006, "x"] = "n/a"  # the second file's 7th row
    write_parts(rows, table_dir / "train", n_files=3, row_group=250)
    done = cli("train", str(cfg), "train.epochs=1", "output=run2", cwd=table_dir)
    assert done.returncode == 2
    part = table_dir / "train" / "part-1.parquet"
    assert f"{part}, line 7, column 'x': numeric input expected, got 'n/a'" in done.stderr
    assert "Traceback" not in done.stderr


def test_streamed_train_needs_validation_rows(table_dir: Path) -> None:
    from manyheads.workflow._splits import load_splits

    cfg = write_config(table_dir, valid=None, valid_fraction=0.0)
    with pytest.raises(DataError, match="a streamed train needs validation rows"):
        load_splits(load_config(cfg, hardware=False))


def test_config_names_a_bad_stream_option(table_dir: Path) -> None:
    cfg = write_config(table_dir, stream_options={"buffer": 10, "sample_rows": 0})
    with pytest.raises(ConfigError, match=r"'data.stream_options.buffer' is not a setting; the"):
        load_config(cfg, hardware=False)
    cfg = write_config(table_dir, stream_options={"sample_rows": 0})
    with pytest.raises(ConfigError, match=r"'data.stream_options.sample_rows' must be an int >= 1"):
        load_config(cfg, hardware=False)


def test_refuses_what_it_cannot_stream(table_dir: Path) -> None:
    source = ParquetSource(table_dir / "train")
    stream = StreamedTrain(source, None, StreamOptions())
    image = TablePreprocessor({"x": "image"}, [Task("y", type="binary")])
    with pytest.raises(InvalidParameterError, match="image input 'x' cannot be streamed"):
        fit_stream(image, stream)
    balanced = TablePreprocessor(
        {"x": "numeric"}, [Task("y", type="binary", class_weight="balanced")]
    )
    with pytest.raises(InvalidParameterError, match="class_weight: balanced of task 'y'"):
        fit_stream(balanced, stream)
    (table_dir / "empty").mkdir()
    with pytest.raises(DataError, match="holds no Parquet file"):
        ParquetSource(table_dir / "empty")
    absent = TablePreprocessor({"nope": "numeric"}, [Task("y", type="binary")])
    with pytest.raises(DataError, match=r"the column\(s\) \['nope'\] are missing"):
        fit_stream(absent, stream)


def test_caps_categories_and_samples_text(table_dir: Path) -> None:
    frame = make_rows(3000, 1)
    frame["c"] = ["a"] * 1500 + ["b"] * 900 + ["c"] * 400 + ["d"] * 200
    write_parts(frame, table_dir / "capped", n_files=2, row_group=500)
    pre = TablePreprocessor({"c": "categorical", "t": "text"}, [Task("y", type="binary")])
    source = ParquetSource(table_dir / "capped")
    options = StreamOptions(max_categories=2, sample_rows=500)
    table = fit_stream(pre, StreamedTrain(source, None, options))
    assert pre.categorical_ == {"c": ["a", "b"]}
    assert table.capped == {"c": 2}
    assert table.sample.n_rows == 500
    encoded = pre.transform(
        pd.DataFrame({"c": ["a", "b", "c"], "t": ["good hat"] * 3}), labels=False
    )
    assert encoded.x["cat"][:, 0].tolist() == [1, 2, 0]  # the rare value is unseen


def test_validate_says_what_it_read_of_a_streamed_train(table_dir: Path) -> None:
    from manyheads.config.validate import validate_data

    problems, summary = validate_data(load_config(write_config(table_dir), hardware=False))
    assert problems == []
    assert summary[0].startswith("streamed train: 3000 rows in 3 Parquet file(s)")


def test_compare_baselines_refuse_a_streamed_train(table_dir: Path, cli: CLI) -> None:
    cfg = write_config(table_dir)
    done = cli("compare", str(cfg), "--baselines", "gbdt", "-o", "cmp", cwd=table_dir)
    assert done.returncode == 2
    assert "'--baselines gbdt' cannot learn from a streamed 'data.train'" in done.stderr
    assert "Compare without --baselines, or set 'data.stream: false'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (table_dir / "cmp").exists()  # refused before anything was written


def test_validate_reads_the_held_out_rows_of_the_first_rows_only(tmp_path: Path) -> None:
    """With ``data.valid_fraction`` (no validation file), training holds out rows from the
    whole table; ``validate`` (preview) only from its first HEAD_ROWS rows, not a full pass."""
    from manyheads.config.validate import validate_data
    from manyheads.workflow._splits import HEAD_ROWS, load_splits

    write_parts(make_rows(24_000, 1), tmp_path / "train", n_files=4, row_group=2_000)
    config = load_config(write_config(tmp_path, valid=None, valid_fraction=0.1), hardware=False)
    preview, _ = load_splits(config, preview=True)
    whole, _ = load_splits(config)
    assert 0 < len(preview.valid) < 0.15 * HEAD_ROWS
    assert preview.valid.index.max() <= HEAD_ROWS
    assert whole.valid.index.max() > HEAD_ROWS
    assert len(whole.valid) > 2 * len(preview.valid)
    problems, summary = validate_data(config)
    assert problems == []
    assert "the rows held out among them (training reads and checks every row)" in summary[0]
