"""Distilling tagging heads with a CRF: the per-token distributions are the CRF's exact marginals
(checked against enumerating every tag path, and against the gradient of log Z), padding is left
out, a CRF student's loss is BAM!'s mix of its sentence NLL and the soft loss on its marginals,
unlabelled sentences learn from the teacher, and a real CRF teacher's cached targets are its
marginals and its validation score its own decoding."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.distill import DistilledTask, distill
from manyheads.distill._losses import pack
from manyheads.distill._marginals import crf_log_marginals, token_logits
from manyheads.distill._targets import teacher_output
from manyheads.distill._teachers import Teacher
from manyheads.tasks import FittedTask, Task
from manyheads.tasks._crf import _log_partition, crf_log_likelihood
from manyheads.tasks._tagging import split_output

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from test_distill_losses import Fixed
from test_tagging_cli import sentences

G = torch.Generator().manual_seed(7)
B, W, C = 3, 4, 3
EMISSIONS = torch.randn(B, W, C, generator=G)
PARAMS = torch.randn(C + 2, C, generator=G)
# a full sentence, one of 2 words (padding after), and an empty row
MASK = torch.tensor([[True] * 4, [True, True, False, False], [False] * 4])


def brute_force_marginals(emissions: torch.Tensor, n_words: int, crf: torch.Tensor) -> torch.Tensor:
    """p(y_t = j | x) of one sentence by scoring every one of the C^n tag paths."""
    trans, start, end = crf[:C], crf[C], crf[C + 1]
    marg = torch.zeros(n_words, C, dtype=torch.float64)
    paths = list(itertools.product(range(C), repeat=n_words))
    scores = []
    for path in paths:
        s = start[path[0]] + end[path[-1]] + sum(emissions[t, path[t]] for t in range(n_words))
        s = s + sum(trans[path[t - 1], path[t]] for t in range(1, n_words))
        scores.append(float(s))
    probs = torch.tensor(scores, dtype=torch.float64).softmax(dim=0)
    for p, path in zip(probs, paths, strict=True):
        for t, tag in enumerate(path):
            marg[t, tag] += p
    return marg


def test_marginals_are_exact_over_every_tag_path() -> None:
    got = crf_log_marginals(EMISSIONS.double(), MASK, PARAMS.double()).exp()
    for row, n in ((0, 4), (1, 2)):
        want = brute_force_marginals(EMISSIONS[row].double(), n, PARAMS.double())
        torch.testing.assert_close(got[row, :n], want, rtol=1e-9, atol=1e-12)
    # padding and the empty row: no distribution (0 in log space, masked out of every loss)
    assert (got[1, 2:] == 1.0).all()
    assert (got[2] == 1.0).all()


def test_marginals_are_the_gradient_of_the_log_partition() -> None:
    emissions = EMISSIONS.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_log_partition(emissions, MASK, PARAMS).sum(), emissions)
    got = crf_log_marginals(EMISSIONS, MASK, PARAMS).exp() * MASK.unsqueeze(2)
    torch.testing.assert_close(got, grad, rtol=1e-5, atol=1e-6)


def test_without_a_crf_the_distribution_is_the_softmax_of_the_emissions() -> None:
    assert torch.equal(token_logits(EMISSIONS, crf=False, mask=MASK), EMISSIONS)
    with_crf = torch.cat([EMISSIONS, PARAMS.expand(B, C + 2, C)], dim=1)
    logits = token_logits(with_crf, crf=True, mask=MASK)
    assert not torch.allclose(logits.softmax(-1)[0], EMISSIONS.softmax(-1)[0], atol=1e-3)
    torch.testing.assert_close(logits, crf_log_marginals(EMISSIONS, MASK, PARAMS))


NER = FittedTask(Task("ner", type="tagging", crf=True), {"tags": ["O", "B-X", "I-X"]})


def _crf_student(lam: float, temperature: float = 1.0) -> DistilledTask:
    return DistilledTask(NER.task, NER.state, 1, torch.int64, temperature, Fixed(lam))


def test_a_crf_student_mixes_its_sentence_nll_with_the_soft_loss_on_its_marginals() -> None:
    teacher = torch.randn(B, W, C, generator=G)
    gold = torch.tensor([[0, 1, 2, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    labelled = torch.tensor([[True] * 4, [False] * 4, [False] * 4])  # row 1: no gold, teacher only
    covered = MASK
    output = torch.cat([EMISSIONS, PARAMS.expand(B, C + 2, C)], dim=1)
    packed = pack(gold, labelled, teacher, level="token")
    t = 2.0
    student = crf_log_marginals(EMISSIONS, covered, PARAMS)
    p = torch.softmax(teacher / t, dim=-1)
    per_token = -(p * torch.log_softmax(student / t, dim=-1)).sum(-1) * t * t
    # λ = 0: the soft loss over the 6 covered tokens (padding and the empty row left out)
    got = _crf_student(0.0, t).loss(output, packed, covered)
    assert float(got) == pytest.approx(float(per_token[covered].mean()), rel=1e-5)
    # λ = 1: row 0's CRF NLL per labelled token, the teacher alone on row 1's 2 tokens
    nll = -crf_log_likelihood(EMISSIONS, gold, labelled, PARAMS)[0] / 4
    expected = (4 * nll + per_token[1, :2].sum()) / 6
    loss = _crf_student(1.0, t).loss(output, packed, covered)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    # the unlabelled row and the transitions learn from the teacher
    output.requires_grad_(True)
    (grad,) = torch.autograd.grad(_crf_student(0.0, t).loss(output, packed, covered), output)
    assert grad[1, :2].abs().sum() > 0
    assert grad[2].abs().sum() == 0
    assert grad[0, W:].abs().sum() > 0  # the CRF parameter rows


def _rows(tmp_path: Path) -> tuple[Path, Path]:
    paths = []
    for name, n, seed in (("train", 120, 0), ("valid", 30, 1)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in sentences(n, seed)))
        paths.append(path)
    return paths[0], paths[1]


def test_a_crf_teacher_gives_its_marginals_and_is_scored_by_its_own_decoding(
    tmp_path: Path,
) -> None:
    train, valid = _rows(tmp_path)
    teacher = mh.fit(
        train,
        tasks=[
            mh.Task("pos", type="tagging"),
            mh.Task("ner", type="tagging", scheme="bio", crf=True),
        ],
        inputs={"tokens": "tokens"},
        valid=valid,
        architecture="stl",
        model_options={"encoder": "bilstm", "encoder_options": {"hidden": 16, "embedding_dim": 16}},
        epochs=2,
        batch_size=16,
        lr=0.01,
        output=tmp_path / "t",
    )
    frame = pd.read_json(valid, lines=True)
    table = teacher.preprocessor.transform(frame)
    ner = next(t for t in teacher.fitted_tasks if t.name == "ner")
    out = teacher_output(Teacher("ner", "t", teacher), frame, ner, table, {})
    words = table.x["wmask:tokens"]
    assert torch.equal(out.covered, words)  # every word slot, no padding
    emissions, params = split_output(out.raw, crf=True)
    assert params is not None
    want = crf_log_marginals(emissions, words, params)
    torch.testing.assert_close(out.target[words], want[words])
    torch.testing.assert_close(out.target[words].exp().sum(-1), torch.ones(int(words.sum())))
    # a plain (no CRF) student of the CRF teacher; the teacher scored as it decodes (Viterbi)
    student = distill(
        _student_cfg(tmp_path, train, valid), teachers=dict.fromkeys(("pos", "ner"), teacher)
    )
    assert student.metrics is not None
    record = json.loads((tmp_path / "s" / "distill.json").read_text())
    assert teacher.metrics is not None
    for task, metric in (("ner", "f1"), ("pos", "accuracy")):
        got = record["teachers"][task]["valid_on_student_rows"][metric]
        assert got == pytest.approx(teacher.metrics["valid"][task][metric], rel=1e-6)


def _student_cfg(tmp_path: Path, train: Path, valid: Path) -> Path:
    path = tmp_path / "student.yaml"
    path.write_text(
        f"""
data: {{train: {train}, valid: {valid}}}
inputs: {{tokens: tokens}}
tasks: {{pos: {{type: tagging}}, ner: {{type: tagging, scheme: bio}}}}
model:
  architecture: hps
  encoder: bilstm
  encoder_options: {{hidden: 16, embedding_dim: 16}}
train: {{epochs: 1, batch_size: 16, lr: 0.01}}
output: {tmp_path / "s"}
"""
    )
    return path
