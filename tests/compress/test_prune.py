"""``prune``: fewer hidden units in shared and tower layers, a bundle that rebuilds the smaller
network, unchanged inputs and outputs, and a decision for every registered architecture."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

pytest.importorskip("torch_pruning")

import manyheads as mh
from manyheads.compress import PRUNABLE, REFUSED, check_prunable, prune
from manyheads.compress._prune import prune_model
from manyheads.errors import DataError, InvalidParameterError

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _shapes(model: nn.Module, prefix: str) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith(prefix)}


def test_prune_hps_halves_each_hidden_layer(hps_run: Path, tmp_path: Path) -> None:
    run = mh.load(hps_run)
    report = run.prune(tmp_path / "p", amount=0.5, epochs=1)  # the Python API: Run.prune
    pruned = mh.load(tmp_path / "p")  # rebuilt from model.json alone
    assert pruned.options["hidden"] == [8, 4]
    assert pruned.options["tower"] == [4]
    # the input encoder and the heads' output widths do not change
    assert _shapes(pruned.model, "input.") == _shapes(run.model, "input.")
    for task in ("good", "shade"):
        old, new = run.model.towers.outputs[task], pruned.model.towers.outputs[task]
        assert new.out_features == old.out_features
        assert new.in_features == old.in_features // 2
    # every hidden layer lost half its units: 16 -> 8, 8 -> 4, tower 8 -> 4
    hidden = [m.out_features for m in pruned.model.bottom.modules() if isinstance(m, nn.Linear)]
    assert hidden == [8, 4]
    assert report.n_parameters == (run.n_parameters, pruned.n_parameters)
    assert pruned.n_parameters < run.n_parameters
    meta = json.loads((tmp_path / "p" / "model.json").read_text())
    assert meta["pruned_from"] == str(hps_run)
    assert meta["pruning"]["widths"] == {"hidden": [8, 4], "tower": [4]}
    rows = hps_run.parent / "test.csv"
    before, after = run.predict(rows), pruned.predict(rows)
    assert list(after.columns) == list(before.columns)
    assert after.shape == before.shape
    saved = json.loads((tmp_path / "p" / "compress.json").read_text())
    assert saved["kind"] == "prune"
    assert saved["settings"]["amount"] == 0.5
    assert saved["size_bytes"]["after"] == (tmp_path / "p" / "model.safetensors").stat().st_size
    assert set(saved["latency_ms"]) == {"1", "64"}
    assert saved["tasks"]["good"]["test"]["before"] == pytest.approx(
        run.metrics["tasks"]["good"]["auc"] if run.metrics else None, abs=1e-6
    )


def test_prune_mmoe_keeps_gates_and_heads(mmoe_run: Path, tmp_path: Path) -> None:
    run = mh.load(mmoe_run)
    prune(run, tmp_path / "p", amount=0.5, epochs=0)
    pruned = mh.load(tmp_path / "p")
    assert pruned.options["expert_hidden"] == [8, 4]
    assert pruned.options["tower"] == [4]
    assert pruned.options["n_experts"] == 3
    assert _shapes(pruned.model, "gates.") == _shapes(run.model, "gates.")
    assert _shapes(pruned.model, "input.") == _shapes(run.model, "input.")
    x = run.preprocessor.transform(mh.read_table(mmoe_run.parent / "test.csv"), labels=False).x
    with torch.no_grad():
        old, new = run.model(x), pruned.model(x)
    assert {k: v.shape for k, v in new.items()} == {k: v.shape for k, v in old.items()}


@pytest.mark.parametrize("amount", [0, 1, 1.5, -0.2, True])
def test_bad_amount_refused_and_nothing_written(
    hps_run: Path, tmp_path: Path, amount: float
) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'amount' parameter of prune must be a number in \(0, 1\), the share of "
        rf"hidden units each pruned layer loses \(e.g. 0.5\). Got {amount!r} instead.",
    ):
        prune(mh.load(hps_run), tmp_path / "p", amount=amount)
    assert not (tmp_path / "p").exists()


def test_every_architecture_prunes_or_is_refused_by_name() -> None:
    from manyheads.architectures import create_model, list_architectures
    from manyheads.data.preprocess import InputSpec

    names = set(list_architectures())
    assert names == set(PRUNABLE) | set(REFUSED)  # a new architecture needs a decision
    options = {
        "hps": {"hidden": [8, 6], "tower": [4]},
        "mmoe": {"expert_hidden": [8], "tower": [4]},
    }
    for name in sorted(names):
        if name in REFUSED:
            with pytest.raises(
                InvalidParameterError,
                match=rf"Architecture '{name}' cannot be pruned: .+\. Prunable architectures: "
                "hps, mmoe.",
            ):
                check_prunable(name, None)  # type: ignore[arg-type]
            continue
        torch.manual_seed(0)
        model = create_model(name, InputSpec(3, (), ()), {"a": 1, "b": 4}, **options[name])
        check_prunable(name, model)
        x = {"num": torch.randn(8, 3)}
        shapes = {k: v.shape for k, v in model.eval()(x).items()}
        prune_model(model, x, 0.5)
        halved = {k: [w // 2 for w in v] for k, v in options[name].items()}
        if name == "mmoe":
            halved["n_experts"] = 8  # the default; --experts removes some
        assert PRUNABLE[name](model) == halved, name
        assert {k: v.shape for k, v in model(x).items()} == shapes, name


def test_cli_prune_and_its_refusal(hps_run: Path, cli: Cli, tmp_path: Path) -> None:
    done = cli("prune", str(hps_run), "--amount", "0.5", "--epochs", "0", "-o", "p", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"prune {hps_run} (torch (eager)):" in done.stdout
    assert "latency at batch 64:" in done.stdout
    assert "wrote p" in done.stdout
    refused = cli("prune", str(hps_run), "--amount", "2", "-o", "q", cwd=tmp_path)
    assert refused.returncode == 2
    assert "The 'amount' parameter of prune must be a number in (0, 1)" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "q").exists()


def test_refused_above_max_drop_writes_nothing(
    hps_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from manyheads.compress import TaskChange, _prune

    def worse(*args: object) -> dict[str, TaskChange]:  # the pruned model "loses" 0.2 AUC
        return {"good": TaskChange("auc", True, (0.9, 0.7), None)}

    monkeypatch.setattr(_prune, "task_changes", worse)
    with pytest.raises(
        DataError,
        match=r"pruning lowers the primary metric of task\(s\) good by more than --max-drop "
        r"0.003; nothing was written\.",
    ):
        prune(mh.load(hps_run), tmp_path / "p", epochs=0, max_drop=0.003)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_drop_experts_is_the_gate_without_them(norm: str) -> None:
    """Removing experts computes exactly the MMoE whose gates never pick them (their gate
    logits at -inf), for every normalisation of the fused experts."""
    from manyheads.architectures import create_model
    from manyheads.compress._prune import drop_experts, expert_usage
    from manyheads.data.preprocess import InputSpec

    torch.manual_seed(0)
    model = create_model(
        "mmoe",
        InputSpec(3, (), ()),
        {"a": 1, "b": 4},
        n_experts=5,
        expert_hidden=[8, 6],
        tower=[4],
        norm=norm,
    ).eval()
    x = {"num": torch.randn(16, 3)}
    usage = expert_usage(model, x)
    assert usage.sum().item() == pytest.approx(2.0)  # two tasks, each gate sums to 1
    masked = copy.deepcopy(model)
    pruned = copy.deepcopy(model)
    kept = drop_experts(pruned, usage, 0.5)  # 5 experts: 2 leave, 3 stay
    assert kept == sorted(torch.argsort(usage, descending=True)[:3].tolist())
    gone = [e for e in range(5) if e not in kept]
    with torch.no_grad():
        for gate in masked.gates.values():
            gate.bias[gone] = -1e30
        expected, got = masked(x), pruned(x)
    for task in ("a", "b"):
        torch.testing.assert_close(got[task], expected[task], rtol=1e-5, atol=1e-6)
    assert PRUNABLE["mmoe"](pruned)["n_experts"] == 3
    assert all(g.weight.shape == (3, 3) for g in pruned.gates.values())


def test_prune_mmoe_experts_and_units(mmoe_run: Path, tmp_path: Path, cli: Cli) -> None:
    from manyheads.compress._measure import encoded_batch, run_data
    from manyheads.compress._prune import expert_usage

    run = mh.load(mmoe_run)
    report = prune(run, tmp_path / "p", amount=0.5, epochs=0, experts=0.5)
    pruned = mh.load(tmp_path / "p")  # rebuilt from model.json alone
    assert pruned.options["n_experts"] == 2  # 3 experts: one leaves
    assert pruned.options["expert_hidden"] == [8, 4]
    assert pruned.options["tower"] == [4]
    train = run_data(run).train
    usage = expert_usage(run.model, encoded_batch(run, train, len(train)))
    least = int(torch.argmin(usage))
    assert report.settings["experts_kept"] == [e for e in range(3) if e != least]
    assert report.settings["widths"] == {"n_experts": 2, "expert_hidden": [8, 4], "tower": [4]}
    assert all(shape[0] == 2 for shape in _shapes(pruned.model, "gates.").values())
    rows = mmoe_run.parent / "test.csv"
    assert pruned.predict(rows).shape == run.predict(rows).shape
    assert report.n_parameters[1] < report.n_parameters[0] // 2

    done = cli("prune", str(mmoe_run), "--experts", "0.5", "--epochs", "0", "-o", "q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "q" / "compress.json").read_text())["settings"]["experts"] == 0.5


@pytest.mark.parametrize("experts", [1, 1.2, -0.5, True, "half"])
def test_bad_experts_refused(mmoe_run: Path, tmp_path: Path, experts: object) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'experts' parameter of prune must be a number in \[0, 1\), the share of "
        r"an MMoE's experts removed",
    ):
        prune(mh.load(mmoe_run), tmp_path / "p", experts=experts)  # type: ignore[arg-type]
    assert not (tmp_path / "p").exists()


def test_experts_refused_without_experts(hps_run: Path, tmp_path: Path, cli: Cli) -> None:
    refused = cli("prune", str(hps_run), "--experts", "0.5", "-o", "p", cwd=tmp_path)
    assert refused.returncode == 2
    assert (
        "The 'experts' parameter of prune removes experts of an mmoe model; this run's 'hps' "
        "network has none. Leave it at 0." in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "p").exists()
