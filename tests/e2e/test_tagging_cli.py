"""End to end: POS + NER tagging through the CLI on tiny JSONL / CoNLL files, and bad input."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

PEOPLE = ["Anna", "Bob", "Chen", "Dara"]
PLACES = [["Paris"], ["Rome"], ["New", "York"], ["Oslo"]]
VERBS = ["visits", "likes", "leaves"]

Cli = Callable[..., subprocess.CompletedProcess[str]]


def sentences(n: int, seed: int) -> list[dict[str, list[str]]]:
    """``PER VERB (the city of)? LOC .`` with UPOS and BIO tags."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        place = PLACES[int(rng.integers(len(PLACES)))]
        tokens = [str(rng.choice(PEOPLE)), str(rng.choice(VERBS))]
        pos, ner = ["PROPN", "VERB"], ["B-PER", "O"]
        if rng.random() < 0.5:
            tokens += ["the", "city", "of"]
            pos += ["DET", "NOUN", "ADP"]
            ner += ["O", "O", "O"]
        tokens += [*place, "."]
        pos += ["PROPN"] * len(place) + ["PUNCT"]
        ner += ["B-LOC"] + ["I-LOC"] * (len(place) - 1) + ["O"]
        rows.append({"tokens": tokens, "pos": pos, "ner": ner})
    return rows


def _jsonl(path: Path, rows: list[dict[str, list[str]]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _config(tmp_path: Path, train: str, valid: str, test: str, tasks: str | None = None) -> Path:
    tasks = tasks or "{pos: {type: tagging}, ner: {type: tagging, scheme: bio}}"
    path = tmp_path / "cfg.yaml"
    path.write_text(
        f"""
data: {{train: {train}, valid: {valid}, test: {test}}}
inputs: {{tokens: tokens}}
tasks: {tasks}
model:
  architecture: hps
  encoder: bilstm
  encoder_options: {{hidden: 16, embedding_dim: 16, min_count: 1}}
train: {{epochs: 2, batch_size: 16, lr: 0.01}}
output: {tmp_path / "run"}
"""
    )
    return path


def _files(tmp_path: Path) -> dict[str, Path]:
    return {
        name: _jsonl(tmp_path / f"{name}.jsonl", sentences(n, seed))
        for name, n, seed in (("train", 60, 0), ("dev", 20, 1), ("test", 20, 2))
    }


def test_train_and_predict_pos_and_ner(cli: Cli, tmp_path: Path) -> None:
    files = _files(tmp_path)
    cfg = _config(tmp_path, "train.jsonl", "dev.jsonl", "test.jsonl")
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["tasks"]
    assert metrics["pos"]["primary"] == "accuracy"
    assert metrics["ner"]["primary"] == "f1"
    assert {"f1", "precision", "recall", "accuracy"} <= set(metrics["ner"])
    n_words = sum(len(r["tokens"]) for r in sentences(20, 2))
    assert metrics["pos"]["n"] == metrics["ner"]["n"] == n_words
    out = tmp_path / "pred.csv"
    pred = cli("predict", str(tmp_path / "run"), str(files["test"]), "-o", str(out), cwd=tmp_path)
    assert pred.returncode == 0, pred.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["pos", "ner"]
    assert len(frame) == 20


def test_words_cut_by_max_length_are_reported_and_training_goes_on(
    cli: Cli, tmp_path: Path
) -> None:
    _files(tmp_path)
    cfg = _config(tmp_path, "train.jsonl", "dev.jsonl", "test.jsonl")
    cfg.write_text(cfg.read_text().replace("min_count: 1}", "min_count: 1, max_length: 6}"))
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    n_cut = sum(max(0, len(r["tokens"]) - 4) for r in sentences(60, 0))  # [CLS] 4 words [SEP]
    n_rows = sum(len(r["tokens"]) > 4 for r in sentences(60, 0))
    assert (
        f"manyheads train: warning: train.jsonl: column 'tokens': {n_cut} words "
        f"in {n_rows} of 60 rows come after the first 6 pieces"
    ) in done.stderr
    assert "manyheads train: warning: dev.jsonl: column 'tokens': " in done.stderr
    assert "warnings.warn" not in done.stderr  # no source line
    assert (tmp_path / "run" / "metrics.json").exists()


def test_conll_files_train_with_a_crf(cli: Cli, tmp_path: Path) -> None:
    for name, seed in (("train", 0), ("dev", 1), ("test", 2)):
        blocks = []
        for row in sentences(30, seed):
            words = zip(row["tokens"], row["pos"], row["ner"], strict=True)
            lines = [f"{i}\t{w}\t{p}\t{n}" for i, (w, p, n) in enumerate(words, 1)]
            blocks.append("\n".join(lines) + "\n")
        (tmp_path / f"{name}.iob2").write_text("\n".join(blocks))
    tasks = "{upos: {type: tagging, column: tag1}, ner: {type: tagging, column: tag2, crf: true}}"
    cfg = _config(tmp_path, "train.iob2", "dev.iob2", "test.iob2", tasks)
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["tasks"]
    assert set(metrics) == {"upos", "ner"}


def _fails(cli: Cli, tmp_path: Path, cfg: Path, *pieces: str) -> None:
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    for piece in pieces:
        assert piece in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_tokens_and_tags_of_different_lengths_name_file_and_line(cli: Cli, tmp_path: Path) -> None:
    _files(tmp_path)
    rows = sentences(60, 0)
    rows[6]["ner"] = rows[6]["ner"][:-1]
    _jsonl(tmp_path / "train.jsonl", rows)
    cfg = _config(tmp_path, "train.jsonl", "dev.jsonl", "test.jsonl")
    _fails(
        cli, tmp_path, cfg, "train.jsonl, line 7, column 'ner'", "every token needs exactly one tag"
    )


def test_a_tag_unseen_in_train_names_file_line_and_tag(cli: Cli, tmp_path: Path) -> None:
    _files(tmp_path)
    rows = sentences(20, 2)
    rows[3]["pos"][0] = "ADJ"
    _jsonl(tmp_path / "test.jsonl", rows)
    cfg = _config(tmp_path, "train.jsonl", "dev.jsonl", "test.jsonl")
    cfg.write_text(cfg.read_text().replace("test.jsonl}", "test.jsonl, unseen_labels: error}"))
    _fails(cli, tmp_path, cfg, "test.jsonl, line 4, column 'pos'", "tag 'ADJ'", "known tags: ADP")


def test_a_malformed_conll_line_names_file_and_line(cli: Cli, tmp_path: Path) -> None:
    _files(tmp_path)
    (tmp_path / "dev.iob2").write_text("1\tAnna\tB-PER\n2\tvisits\tO\n\n1\tOslo\n")
    cfg = _config(tmp_path, "train.jsonl", "dev.iob2", "test.jsonl")
    _fails(cli, tmp_path, cfg, "dev.iob2, line 4", "expected 2 like the first token line (line 1)")


def test_an_unknown_scheme_is_a_config_error(cli: Cli, tmp_path: Path) -> None:
    _files(tmp_path)
    tasks = "{ner: {type: tagging, scheme: iob}}"
    cfg = _config(tmp_path, "train.jsonl", "dev.jsonl", "test.jsonl", tasks)
    _fails(cli, tmp_path, cfg, "tasks.ner", "must be one of none, bio, iob2, bioes", "Got 'iob'")
