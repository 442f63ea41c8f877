"""The ``tagging`` task type: encoding, masks, losses (token CE and CRF), decoding, metrics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor

from manyheads.errors import DataError, DataWarning, InvalidParameterError
from manyheads.tasks import Task, get_task_type

KIND = get_task_type("tagging")
NER = ["B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O"]
BIOES = ["B-PER", "E-PER", "I-PER", "O", "S-LOC"]


def _frame(cells: list[object], name: str = "ner") -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(cells, dtype=object)})
    frame.index = pd.RangeIndex(1, 1 + len(frame))  # JSONL lines
    return frame


def _logits(rows: list[list[str]], tags: list[str], width: int) -> Tensor:
    """An output ``[B, W, C]`` whose argmax spells ``rows`` (slots beyond a row: tag 0)."""
    out = torch.zeros(len(rows), width, len(tags))
    for b, row in enumerate(rows):
        for w, tag in enumerate(row):
            out[b, w, tags.index(tag)] = 5.0
    return out


def _encoded(task: Task, gold: list[object], tags: list[str]) -> tuple[Tensor, Tensor]:
    return KIND.encode(task, {"tags": tags}, _frame(gold, task.name), "dev.jsonl")


def _score(task: Task, gold: list[object], pred: list[list[str]], tags: list[str]) -> dict:
    target, mask = _encoded(task, gold, tags)
    return KIND.score(task, {"tags": tags}, _logits(pred, tags, target.shape[1]), target, mask)


# -- the task ------------------------------------------------------------------------------------
def test_tagging_is_token_level_and_takes_scheme_and_crf() -> None:
    assert KIND.level == "token"
    assert KIND.extra_fields == ("scheme", "crf", "label_smoothing")
    task = Task("ner", type="tagging", scheme="bio", crf=True)
    assert Task.from_dict(task.to_dict()) == task


def test_unknown_scheme_lists_the_valid_ones_and_the_closest() -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'scheme' of tagging task 'ner' must be one of none, bio, iob2, bioes\. "
        r"Got 'bieos'\. Did you mean 'bioes'\?",
    ):
        Task("ner", type="tagging", scheme="bieos")


def test_entity_metrics_without_a_scheme_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"\['f1'\] of tagging task 'pos' count"):
        Task("pos", type="tagging", metrics=["f1"])


def test_crf_must_be_a_bool_and_excludes_label_smoothing() -> None:
    with pytest.raises(InvalidParameterError, match="'crf' of tagging task 'pos' must be true"):
        Task("pos", type="tagging", crf="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'label_smoothing' of tagging task 'pos'"):
        Task("pos", type="tagging", crf=True, label_smoothing=0.1)


def test_other_task_types_refuse_scheme() -> None:
    with pytest.raises(InvalidParameterError, match="type multiclass does not take 'scheme'"):
        Task("y", type="multiclass", scheme="bio")


def test_primary_metric_is_f1_with_a_scheme_and_accuracy_without() -> None:
    assert KIND.metric_names(Task("ner", type="tagging", scheme="iob2"))[0] == "f1"
    assert KIND.metric_names(Task("pos", type="tagging")) == ("accuracy",)
    assert KIND.metric_names(Task("pos", type="tagging", scheme="none")) == ("accuracy",)
    assert set(KIND.metric_directions) == {"f1", "precision", "recall", "accuracy"}


# -- fitting and encoding ------------------------------------------------------------------------
def test_fit_learns_the_sorted_tag_set_from_lists_and_strings() -> None:
    task = Task("ner", type="tagging", scheme="bio")
    frame = _frame([["B-PER", "I-PER", "O"], "O B-LOC", None])
    state = KIND.fit(task, frame, "train.jsonl")
    assert state == {"tags": ["B-LOC", "B-PER", "I-PER", "O"]}
    assert KIND.out_dim(state) == 4


def test_tag_outside_the_scheme_names_file_line_column_and_tag() -> None:
    task = Task("ner", type="tagging", scheme="bio")
    with pytest.raises(
        DataError,
        match=r"train\.jsonl, line 2, column 'ner': tag 'S-PER' of task 'ner' does not fit its "
        r"scheme 'bio': expected O or B-TYPE, I-TYPE",
    ):
        KIND.fit(task, _frame([["O"], ["S-PER", "O"]]), "train.jsonl")


def test_bioes_accepts_its_four_prefixes() -> None:
    task = Task("ner", type="tagging", scheme="bioes")
    state = KIND.fit(task, _frame([["B-PER", "I-PER", "E-PER", "S-LOC", "O"]]), "t.jsonl")
    assert state["tags"] == ["B-PER", "E-PER", "I-PER", "O", "S-LOC"]


def test_unseen_tag_names_file_line_column_tag_and_known_tags() -> None:
    task = Task("pos", type="tagging")
    state = KIND.fit(task, _frame([["NOUN", "VERB"]], "pos"), "train.jsonl")
    frame = _frame([["NOUN"], ["ADJ", "NOUN"]], "pos")
    with pytest.raises(
        DataError,
        match=r"test\.jsonl, line 2, column 'pos': tag 'ADJ' of task 'pos' was never seen in "
        r"the training data \(known tags: NOUN, VERB\)\.",
    ):
        KIND.encode(task, state, frame, "test.jsonl", unseen="error")


@pytest.mark.parametrize("crf", [False, True])
def test_an_unseen_tag_warns_with_its_count_and_is_scored_as_wrong(crf: bool) -> None:
    task = Task("ner", type="tagging", scheme="bio", crf=crf)
    state = {"tags": ["B-PER", "O"]}
    frame = _frame([["B-PER", "O"], ["B-MISC", "O", "B-MISC"]])
    with pytest.warns(
        DataWarning,
        match=r"dev\.jsonl, line 2, column 'ner': 2 tokens of task 'ner' carry tags never seen "
        r"in the training data: 'B-MISC' \(2\)\. They count as wrong",
    ):
        target, mask = KIND.encode(task, state, frame, "dev.jsonl")
    assert target.tolist() == [[0, 1, 0], [-1, 1, -1]]
    assert mask.tolist() == [[True, True, False], [True, True, True]]
    output = _logits([["B-PER", "O"], ["O", "O", "O"]], state["tags"], 3)
    if crf:
        output = torch.cat([output, torch.zeros(2, 4, 2)], dim=1)
    scores = KIND.score(task, state, output, target, mask)
    assert scores["accuracy"] == pytest.approx(3 / 5)
    assert scores["recall"] == pytest.approx(1 / 3)  # two gold <unseen> entities were missed
    assert scores["precision"] == 1.0
    alone = KIND.loss(task, state, output[:1], target[:1], mask[:1])
    assert KIND.loss(task, state, output, target, mask).item() == pytest.approx(
        alone.item()
        if crf
        else (
            2 * alone.item()
            + float(torch.nn.functional.cross_entropy(output[1, 1:2, :2], torch.tensor([1])))
        )
        / 3
    )


def test_a_cell_that_is_not_a_tag_list_names_its_line() -> None:
    task = Task("pos", type="tagging")
    with pytest.raises(DataError, match=r"f\.jsonl, line 2, column 'pos': expected a list of tags"):
        KIND.fit(task, _frame([["NOUN"], [1.5]], "pos"), "f.jsonl")


def test_encode_pads_to_the_longest_row_and_masks_padding_and_unlabelled_rows() -> None:
    task = Task("ner", type="tagging", scheme="bio")
    target, mask = _encoded(task, [["B-PER", "O"], None, ["O", "O", "B-LOC"], ""], NER)
    assert target.dtype == torch.int64
    assert mask.tolist() == [
        [True, True, False],
        [False, False, False],
        [True, True, True],
        [False, False, False],
    ]
    assert target[0, :2].tolist() == [NER.index("B-PER"), NER.index("O")]


def test_integer_tags_become_their_strings() -> None:
    task = Task("ner", type="tagging")
    state = KIND.fit(task, _frame([[0, 3, 3], np.array([1, 0])]), "t.jsonl")
    assert state["tags"] == ["0", "1", "3"]


# -- losses --------------------------------------------------------------------------------------
def test_token_loss_is_the_mean_cross_entropy_over_labelled_tokens() -> None:
    task = Task("ner", type="tagging", scheme="bio")
    target, mask = _encoded(task, [["B-PER", "O"], None, ["O"]], NER)
    output = torch.randn(3, 2, len(NER), generator=torch.Generator().manual_seed(0))
    logp = torch.log_softmax(output, dim=-1)
    expected = -(logp[0, 0, 2] + logp[0, 1, 6] + logp[2, 0, 6]) / 3
    got = KIND.loss(task, {"tags": NER}, output, target, mask)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("crf", [False, True])
def test_loss_is_zero_finite_and_in_the_graph_without_labels(crf: bool) -> None:
    task = Task("ner", type="tagging", scheme="bio", crf=crf)
    target, mask = _encoded(task, [None, None], NER)
    extra = len(NER) + 2 if crf else 0
    output = torch.randn(2, 1 + extra, len(NER), requires_grad=True)
    loss = KIND.loss(task, {"tags": NER}, output, target, mask)
    assert loss.item() == 0.0
    loss.backward()
    assert output.grad is not None
    assert torch.isfinite(output.grad).all()


def _brute_force_nll(emissions: Tensor, crf: Tensor, tags: list[int]) -> float:
    n_tags = crf.shape[1]

    def score(path: tuple[int, ...]) -> float:
        s = crf[n_tags, path[0]] + sum(emissions[t, p] for t, p in enumerate(path))
        s = s + sum(crf[a, b] for a, b in itertools.pairwise(path))
        return float(s + crf[n_tags + 1, path[-1]])

    paths = itertools.product(range(n_tags), repeat=len(tags))
    log_z = math.log(sum(math.exp(score(p)) for p in paths))
    return log_z - score(tuple(tags))


def test_crf_loss_is_the_sentence_nll_per_labelled_token_by_brute_force() -> None:
    tags = ["B-PER", "I-PER", "O"]
    task = Task("ner", type="tagging", scheme="bio", crf=True)
    target, mask = _encoded(task, [["B-PER", "I-PER", "O"], None, ["O", "B-PER"]], tags)
    gen = torch.Generator().manual_seed(1)
    emissions = torch.randn(3, 3, 3, generator=gen, dtype=torch.float64)
    crf = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    output = torch.cat([emissions, crf.expand(3, 5, 3)], dim=1)  # what TaskTowers appends
    got = KIND.loss(task, {"tags": tags}, output, target, mask)
    expected = (
        _brute_force_nll(emissions[0], crf, [0, 1, 2])
        + _brute_force_nll(emissions[2, :2], crf, [2, 0])
    ) / 5  # two sentences, 3 + 2 labelled tokens
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_output_wider_than_the_tags_is_padded_with_unlabelled_slots() -> None:
    task = Task("pos", type="tagging")
    target, mask = KIND.encode(task, {"tags": ["A", "B"]}, _frame([["A"]], "pos"), "t.jsonl")
    output = torch.zeros(1, 4, 2)  # the frame's longest word list is 4 (an unlabelled row)
    output[0, 0, 0] = 3.0
    assert KIND.score(task, {"tags": ["A", "B"]}, output, target, mask)["n"] == 1
    assert torch.isfinite(KIND.loss(task, {"tags": ["A", "B"]}, output, target, mask))


# -- decoding ------------------------------------------------------------------------------------
def test_predict_trims_each_row_to_its_words_with_a_mask() -> None:
    task = Task("pos", type="tagging")
    tags = ["ADJ", "NOUN", "VERB"]
    output = _logits([["NOUN", "VERB", "ADJ"], ["ADJ"]], tags, 3)
    wmask = torch.tensor([[True, True, True], [True, False, False]])
    got = KIND.predict(task, {"tags": tags}, output, mask=wmask)["pos"]
    assert got.dtype == object
    assert got.tolist() == [["NOUN", "VERB", "ADJ"], ["ADJ"]]
    full = KIND.predict(task, {"tags": tags}, output)["pos"]
    assert [len(r) for r in full] == [3, 3]


def test_crf_predict_is_the_viterbi_path_by_brute_force() -> None:
    tags = ["B-PER", "I-PER", "O"]
    task = Task("ner", type="tagging", scheme="bio", crf=True)
    gen = torch.Generator().manual_seed(2)
    emissions = torch.randn(2, 4, 3, generator=gen, dtype=torch.float64)
    crf = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    crf[2, 1] = -20.0  # O -> I-PER is (almost) forbidden
    output = torch.cat([emissions, crf.expand(2, 5, 3)], dim=1)
    wmask = torch.tensor([[True] * 4, [True, True, False, False]])
    got = KIND.predict(task, {"tags": tags}, output, mask=wmask)["ner"]
    for b, n in enumerate([4, 2]):
        best = min(
            itertools.product(range(3), repeat=n),
            key=lambda p, b=b, n=n: _brute_force_nll(emissions[b, :n], crf, list(p)),
        )
        assert got[b] == [tags[i] for i in best]


# -- metrics -------------------------------------------------------------------------------------
def test_bio_entity_f1_counts_exact_spans_with_type_and_boundary_errors() -> None:
    task = Task("ner", type="tagging", scheme="bio")
    gold: list[object] = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]
    # gold PER, LOC, ORG; predicted PER (right), ORG for LOC (type), ORG one token too long
    scores = _score(task, gold, pred, NER)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(1 / 3)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["n"] == 6


def test_bio_follows_conlleval_an_entity_may_start_with_i() -> None:
    task = Task("ner", type="tagging", scheme="bio")
    gold: list[object] = [["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]]
    pred = [["I-PER", "I-PER", "O", "B-LOC", "I-LOC"]]
    # PER found (I- opens a chunk in conlleval); two LOCs merged into one: 1 of 2 predicted right
    scores = _score(task, gold, pred, NER)
    assert scores["precision"] == pytest.approx(1 / 2)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))


def test_bioes_is_strict_an_ill_formed_entity_does_not_count() -> None:
    task = Task("ner", type="tagging", scheme="bioes")
    gold: list[object] = [["B-PER", "E-PER", "O", "S-LOC"]]
    pred = [["B-PER", "I-PER", "O", "S-LOC"]]  # B-PER I-PER without E-PER: no entity
    scores = _score(task, gold, pred, BIOES)
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(3 / 4)


def test_token_accuracy_ignores_padding_and_unlabelled_rows() -> None:
    task = Task("pos", type="tagging")
    tags = ["ADJ", "NOUN", "VERB"]
    gold: list[object] = [["NOUN", "VERB"], None, ["ADJ", "NOUN", "NOUN"]]
    pred = [["NOUN", "ADJ", "VERB"], ["VERB", "VERB", "VERB"], ["ADJ", "NOUN", "VERB"]]
    scores = _score(task, gold, pred, tags)
    assert scores == {"accuracy": pytest.approx(3 / 5), "n": 5}


def test_metrics_are_nan_without_labels() -> None:
    task = Task("ner", type="tagging", scheme="bio")
    scores = _score(task, [None], [["O"]], NER)
    assert scores["n"] == 0
    assert all(math.isnan(scores[m]) for m in ("f1", "precision", "recall", "accuracy"))
