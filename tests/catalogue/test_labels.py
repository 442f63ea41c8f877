"""Catalogue: bad labels and monitors (unseen classes and tags, undefined model selection).

Each case writes a small table or tagging corpus and a config, runs ``manyheads train`` in
process and asserts exit 2, no traceback, the place named (file, line, column, key, task), no
finished-looking run and the user's files kept byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.catalogue._harness import (
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
)

# -- a table: x (numeric), y (multiclass a/b), b (binary 0/1), z (regression) -------------------
TRAIN = "x,y,b,z\n" + "".join(f"{i / 10},{'ab'[i % 2]},{i % 2},{i / 5}\n" for i in range(24))
VALID = "x,y,b,z\n0.1,a,0,0.2\n0.2,b,1,0.4\n0.3,a,0,0.6\n0.4,b,1,0.8\n"
TABLE_TASKS = "{y: {type: multiclass}, b: {type: binary}}"


def _table(tmp: Path, *, valid: str = VALID, test: str = VALID, **cfg: str) -> None:
    (tmp / "train.csv").write_text(TRAIN)
    (tmp / "valid.csv").write_text(valid)
    (tmp / "test.csv").write_text(test)
    data = cfg.get("data", "")
    (tmp / "cfg.yaml").write_text(
        f"data: {{train: train.csv, valid: valid.csv, test: test.csv{data}}}\n"
        "inputs: {x: numeric}\n"
        f"tasks: {cfg.get('tasks', TABLE_TASKS)}\n"
        f"train: {{epochs: 1, batch_size: 8{cfg.get('train', '')}}}\n"
        "output: run\n"
    )


# -- a tagging corpus: JSONL sentences (pos, ner) or a CoNLL file ------------------------------
SENTENCES = [
    (["Anna", "visits", "Oslo"], ["PROPN", "VERB", "PROPN"], ["B-PER", "O", "B-LOC"]),
    (["Bo", "likes", "Rome"], ["PROPN", "VERB", "PROPN"], ["B-PER", "O", "B-LOC"]),
    (["the", "EU", "rejects", "it"], ["DET", "PROPN", "VERB", "PRON"], ["O", "B-ORG", "O", "O"]),
]


def _jsonl(rows: list[tuple[list[str], list[str], list[str]]]) -> str:
    return "".join(json.dumps({"tokens": w, "pos": p, "ner": n}) + "\n" for w, p, n in rows)


def _tagging(
    tmp: Path,
    *,
    train: str | None = None,
    valid: str | None = None,
    test: str | None = None,
    names: tuple[str, str, str] = ("train.jsonl", "dev.jsonl", "test.jsonl"),
    tasks: str = "{pos: {type: tagging}, ner: {type: tagging, scheme: bio}}",
    data: str = "",
    train_cfg: str = "",
) -> None:
    for name, text in zip(names, (train, valid, test), strict=True):
        (tmp / name).write_text(text if text is not None else _jsonl(SENTENCES * 4))
    (tmp / "cfg.yaml").write_text(
        f"data: {{train: {names[0]}, valid: {names[1]}, test: {names[2]}{data}}}\n"
        "inputs: {tokens: tokens}\n"
        f"tasks: {tasks}\n"
        "model: {encoder: bilstm, encoder_options: {hidden: 8, embedding_dim: 8, min_count: 1}}\n"
        f"train: {{epochs: 1{train_cfg}}}\n"
        "output: run\n"
    )


def _iob2(rows: list[tuple[list[str], list[str]]]) -> str:
    return "\n".join(
        "".join(f"{i}\t{w}\t{t}\n" for i, (w, t) in enumerate(zip(ws, ts, strict=True), 1))
        for ws, ts in rows
    )


IOB2 = [(w, n) for w, _, n in SENTENCES] * 3
STRICT = ", unseen_labels: error"


def _unseen_tag_in_test(tmp: Path) -> None:
    rows = [*SENTENCES[:2], (["Ada", "met", "Bo"], ["PROPN", "AUX", "PROPN"], ["B-PER"] * 3)]
    _tagging(tmp, test=_jsonl(rows), data=STRICT)


def _unseen_tag_in_valid_conll(tmp: Path) -> None:
    dev = [*IOB2[:2], (["Ada", "saw", "Paris"], ["B-PER", "O", "B-MISC"])]
    _tagging(
        tmp,
        train=_iob2(IOB2),
        valid=_iob2(dev),
        test=_iob2(IOB2[:2]),
        names=("train.iob2", "dev.iob2", "test.iob2"),
        tasks="{ner: {type: tagging, column: tag, scheme: bio}}",
        data=STRICT,
    )


def _tag_outside_scheme(tmp: Path) -> None:
    rows = [*SENTENCES, (["Ada"], ["PROPN"], ["S-PER"])]
    _tagging(tmp, train=_jsonl(rows))


def _tags_shorter_than_tokens(tmp: Path) -> None:
    rows = [*SENTENCES, (["Ada", "sings"], ["PROPN"], ["B-PER", "O"])]
    _tagging(tmp, train=_jsonl(rows))


def _tagging_monitor_without_valid_labels(tmp: Path) -> None:
    dev = "".join(json.dumps({"tokens": w, "pos": p, "ner": None}) + "\n" for w, p, _ in SENTENCES)
    _tagging(tmp, valid=dev, train_cfg=", monitor: ner.f1")


def _binary_three(tmp: Path) -> None:
    _table(tmp, tasks="{y: {type: binary}}")
    (tmp / "train.csv").write_text(TRAIN.replace("\n0.2,a,", "\n0.2,c,"))


def _no_train_labels(tmp: Path) -> None:
    _table(tmp, tasks="{y: {type: multiclass}}")
    (tmp / "train.csv").write_text("x,y\n" + "".join(f"{i / 10},\n" for i in range(24)))


CASES = [
    pytest.param(
        lambda t: _table(t, test=VALID.replace("0.3,a,", "0.3,z,"), data=STRICT),
        ("test.csv", "line 4", "column 'y'", "class 'z'", "data.unseen_labels"),
        id="unseen-class-in-test-strict",
    ),
    pytest.param(
        lambda t: _table(t, valid=VALID.replace("0.2,b,1", "0.2,b,2"), data=STRICT),
        ("valid.csv", "line 3", "column 'b'", "class '2'", "task 'b'"),
        id="unseen-binary-class-in-valid-strict",
    ),
    pytest.param(
        _unseen_tag_in_test,
        ("test.jsonl", "line 3", "column 'pos'", "tag 'AUX'", "task 'pos'"),
        id="unseen-tag-in-test-strict",
    ),
    pytest.param(
        _unseen_tag_in_valid_conll,
        ("dev.iob2", "line 9", "column 'tag'", "tag 'B-MISC'"),
        id="unseen-tag-in-conll-valid-strict",
    ),
    pytest.param(
        lambda t: _table(t, data=", unseen_labels: ignore"),
        ("cfg.yaml", "data.unseen_labels", "warn or error", "'ignore'"),
        id="unseen-labels-unknown-mode",
    ),
    pytest.param(
        lambda t: _table(t, valid=VALID.replace(",0,", ",1,"), train=", monitor: b.auc"),
        ("'b.auc'", "train.monitor", "task 'b'", "auc needs both classes", "valid.csv"),
        id="monitor-auc-one-class-in-valid",
    ),
    pytest.param(
        lambda t: _table(t, valid="x,y,b,z\n0.1,,0,1\n0.2,,1,2\n", train=", monitor: y.accuracy"),
        ("'y.accuracy'", "train.monitor", "task 'y' has no labelled row", "valid.csv"),
        id="monitor-task-without-valid-labels",
    ),
    pytest.param(
        lambda t: _table(
            t,
            valid="x,y,b,z\n0.1,a,0,1\n",
            tasks="{z: {type: regression}}",
            train=", monitor: z.r2",
        ),
        ("'z.r2'", "train.monitor", "task 'z'", "Set train.monitor to loss"),
        id="monitor-r2-on-one-valid-row",
    ),
    pytest.param(
        _tagging_monitor_without_valid_labels,
        ("'ner.f1'", "train.monitor", "task 'ner' has no labelled row", "dev.jsonl"),
        id="monitor-tagging-task-without-valid-labels",
    ),
    pytest.param(
        lambda t: _table(t, valid="x,y,b,z\n0.1,,,\n0.2,,,\n"),
        ("No task has a labelled row", "valid.csv", "train.monitor"),
        id="monitor-loss-without-any-valid-label",
    ),
    pytest.param(
        _binary_three,
        ("train.csv", "column 'y'", "3 distinct label(s)", "multiclass"),
        id="binary-task-with-three-classes",
    ),
    pytest.param(
        lambda t: _table(t, tasks="{q: {type: binary}}"),
        ("train.csv", "label column 'q'", "task 'q'"),
        id="label-column-missing",
    ),
    pytest.param(
        _no_train_labels,
        ("train.csv", "column 'y'", "task 'y' has no labelled row in the training data"),
        id="task-without-training-labels",
    ),
    pytest.param(
        _tag_outside_scheme,
        ("train.jsonl", "line 4", "column 'ner'", "tag 'S-PER'", "scheme 'bio'"),
        id="tag-outside-its-scheme",
    ),
    pytest.param(
        _tags_shorter_than_tokens,
        ("train.jsonl", "line 4", "column 'pos'", "every token needs exactly one tag"),
        id="fewer-tags-than-tokens",
    ),
]


@pytest.mark.parametrize(("write", "names"), CASES)
def test_bad_labels_are_refused_by_place(
    run: Run, tmp_path: Path, write: object, names: tuple[str, ...]
) -> None:
    write(tmp_path)  # type: ignore[operator]
    before = snapshot(tmp_path)
    outcome = run("train", "cfg.yaml", cwd=tmp_path)
    assert_refused(outcome, *names)
    assert_nothing_finished(tmp_path / "run")
    assert_kept(before, tmp_path)


def test_by_default_an_unseen_tag_warns_with_its_place_and_the_run_finishes(
    run: Run, tmp_path: Path
) -> None:
    _unseen_tag_in_test(tmp_path)
    (tmp_path / "cfg.yaml").write_text((tmp_path / "cfg.yaml").read_text().replace(STRICT, ""))
    outcome = run("train", "cfg.yaml", "--quiet", cwd=tmp_path)
    assert outcome.code == 0, outcome.stderr
    assert (
        "warning: test.jsonl, line 3, column 'pos': 1 token of task 'pos' carries tags never"
        in outcome.stderr
    )
    assert "'AUX' (1)" in outcome.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["tasks"]["pos"]["n"] == 9
