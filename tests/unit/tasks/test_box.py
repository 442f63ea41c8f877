"""The ``box`` task type: IoU / GIoU against hand-computed answers, label checks, loss, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks import Task, get_task_type
from manyheads.tasks._box import MIN_SIZE, box_iou, corners, decode_boxes, generalized_box_iou

COLUMNS = ("x1", "y1", "x2", "y2")
TASK = Task("box", type="box", columns=COLUMNS, image_size=(64, 32))
KIND = get_task_type("box")


def _frame(rows: list[list[object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # CSV lines
    return frame


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _raw(box: list[float]) -> torch.Tensor:
    """Raw head outputs whose decoded box is ``box`` (inverse of the sigmoid centre/size)."""
    x1, y1, x2, y2 = box
    sizes = [(v - MIN_SIZE) / (1.0 - MIN_SIZE) for v in (x2 - x1, y2 - y1)]
    return torch.tensor([[_logit(v) for v in [(x1 + x2) / 2, (y1 + y2) / 2, *sizes]]])


# -- IoU and GIoU: known answers -------------------------------------------------------------
CASES = [
    # (a, b, IoU, GIoU), by hand: areas, intersection, union, enclosing box C
    ([0, 0, 2, 2], [0, 0, 2, 2], 1.0, 1.0),  # identical
    ([0, 0, 1, 1], [2, 0, 3, 1], 0.0, 0.0 - (3 - 2) / 3),  # disjoint: C = 3 x 1, union 2
    ([0, 0, 4, 4], [1, 1, 3, 3], 4 / 16, 4 / 16),  # nested: C is the outer box
    ([0, 0, 2, 1], [1, 0, 3, 1], 1 / 3, 1 / 3),  # half of each overlaps: C = union
    ([0, 0, 2, 2], [1, 1, 3, 3], 1 / 7, 1 / 7 - (9 - 7) / 9),  # corner overlap: C = 3 x 3
    ([0, 0, 1, 1], [0, 3, 1, 4], 0.0, 0.0 - (4 - 2) / 4),  # disjoint, farther: C = 1 x 4
]


@pytest.mark.parametrize(("a", "b", "iou", "giou"), CASES)
def test_iou_and_giou_match_hand_computed_values(
    a: list[float], b: list[float], iou: float, giou: float
) -> None:
    ta, tb = torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
    assert box_iou(ta, tb).item() == pytest.approx(iou, abs=1e-12)
    assert box_iou(tb, ta).item() == pytest.approx(iou, abs=1e-12)  # symmetric
    assert generalized_box_iou(ta, tb).item() == pytest.approx(giou, abs=1e-12)


def test_iou_is_batched_pairwise() -> None:
    a = torch.tensor([c[0] for c in CASES], dtype=torch.float64)
    b = torch.tensor([c[1] for c in CASES], dtype=torch.float64)
    expected = torch.tensor([c[2] for c in CASES], dtype=torch.float64)
    torch.testing.assert_close(box_iou(a, b), expected, rtol=0, atol=1e-12)


def test_giou_is_below_iou_and_in_minus_one_one() -> None:
    g = torch.Generator().manual_seed(0)
    lo = torch.rand(200, 2, generator=g)
    a = torch.cat([lo, lo + torch.rand(200, 2, generator=g) + 0.01], 1)
    lo = torch.rand(200, 2, generator=g)
    b = torch.cat([lo, lo + torch.rand(200, 2, generator=g) + 0.01], 1)
    iou, giou = box_iou(a, b), generalized_box_iou(a, b)
    assert (giou <= iou + 1e-7).all()
    assert ((giou > -1) & (giou <= 1)).all()


# -- the head's parametrisation ---------------------------------------------------------------
def test_any_raw_output_decodes_to_a_valid_box_inside_the_image() -> None:
    raw = 10 * torch.randn(1000, 4, generator=torch.Generator().manual_seed(0))
    boxes = decode_boxes(raw)
    assert ((boxes >= 0) & (boxes <= 1)).all()
    assert (boxes[:, 2] > boxes[:, 0]).all()
    assert (boxes[:, 3] > boxes[:, 1]).all()


def test_corners_invert_the_centre_size_parametrisation() -> None:
    box = [0.1, 0.25, 0.6, 0.5]
    torch.testing.assert_close(corners(_raw(box)), torch.tensor([box]), rtol=0, atol=1e-6)


# -- labels --------------------------------------------------------------------------------------
def test_all_four_empty_is_unlabelled_and_targets_are_the_corners() -> None:
    frame = _frame([[0.1, 0.2, 0.5, 0.6], [None, None, None, None], ["0", "0", "1", "1"]])
    state = KIND.fit(TASK, frame, "f.csv")
    y, mask = KIND.encode(TASK, state, frame, "f.csv")
    assert mask.tolist() == [True, False, True]
    torch.testing.assert_close(y[0], torch.tensor([0.1, 0.2, 0.5, 0.6]))
    torch.testing.assert_close(y[2], torch.tensor([0.0, 0.0, 1.0, 1.0]))
    assert KIND.out_dim(state) == 4


def test_values_within_the_tolerance_are_clipped() -> None:
    frame = _frame([[-1e-7, 0.0, 1.0 + 1e-7, 1.0]])
    y, _ = KIND.encode(TASK, KIND.fit(TASK, frame, "f"), frame, "f")
    assert y.min().item() == 0.0
    assert y.max().item() == 1.0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            [10.0, 5.0, 30.0, 20.0],
            r"f\.csv, line 3, column 'x1': box coordinate 10\.0 of task 'box' is outside "
            r"\[0, 1\]\. Boxes are normalised: divide pixel coordinates by the image width",
        ),
        (
            [0.1, 0.1, 0.5, 1.5],
            r"line 3, column 'y2': .* outside \[0, 1\].*divide pixel coordinates by the image "
            r"height",
        ),
        (
            [0.1, 0.2, None, 0.6],
            r"line 3, column 'x2': the box of task 'box' is incomplete: x2 empty\. Give all four",
        ),
        (
            [0.5, 0.2, 0.1, 0.6],
            r"line 3, column 'x2': box of task 'box' has x2 = 0\.1 <= x1 = 0\.5: it is empty or "
            r"flipped",
        ),
        ([0.1, 0.6, 0.5, 0.6], r"line 3, column 'y2': .*y2 = 0\.6 <= y1 = 0\.6"),
        (
            [0.1, "top", 0.5, 0.6],
            r"line 3, column 'y1': box task 'box' needs numbers, got 'top'",
        ),
    ],
)
def test_bad_boxes_name_file_line_column_and_fix(row: list[object], message: str) -> None:
    frame = _frame([[0.1, 0.1, 0.2, 0.2], row])
    with pytest.raises(DataError, match=message):
        KIND.encode(TASK, {"coords": list(COLUMNS)}, frame, "f.csv")


def test_a_missing_label_column_is_named() -> None:
    frame = _frame([[0.1, 0.1, 0.2, 0.2]]).drop(columns=["y2"])
    with pytest.raises(DataError, match=r"the label column 'y2' of box task 'box' is missing"):
        KIND.fit(TASK, frame, "f.csv")


def test_no_labelled_row_in_train_is_refused() -> None:
    with pytest.raises(DataError, match="has no labelled row"):
        KIND.fit(TASK, _frame([[None, None, None, None]]), "f.csv")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"columns": ["x1", "y1", "x2"]}, r"needs 'columns': its four label columns"),
        ({}, r"needs 'columns'"),
        ({"columns": COLUMNS, "loss": "mse"}, r"'loss' of box task 'b' must be 'smooth_l1' or"),
        ({"columns": COLUMNS, "image_size": [64]}, r"'image_size' of box task 'b' must be"),
        ({"columns": COLUMNS, "image_size": [0, 4]}, r"two ints >= 1"),
        ({"columns": COLUMNS, "metrics": ["map"]}, r"Unknown metric\(s\) \['map'\].*iou, acc50"),
        ({"columns": COLUMNS, "scheme": "bio"}, r"does not take 'scheme' or 'crf'"),
    ],
)
def test_bad_task_fields_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        Task("b", type="box", **fields)  # type: ignore[arg-type]


def test_image_size_is_only_for_box_tasks() -> None:
    with pytest.raises(InvalidParameterError, match="does not take 'image_size'"):
        Task("y", type="regression", image_size=(64, 64))


def test_task_round_trips_through_its_dict() -> None:
    assert Task.from_dict(TASK.to_dict()) == TASK


# -- loss, prediction, metrics ---------------------------------------------------------------
@pytest.mark.parametrize("loss", ["smooth_l1", "giou"])
def test_loss_is_zero_at_the_target_and_masked(loss: str) -> None:
    task = Task("box", type="box", columns=COLUMNS, loss=loss)
    target = torch.tensor([[0.1, 0.25, 0.6, 0.5]])
    exact = KIND.loss(task, {}, _raw(target[0].tolist()), target, torch.tensor([True]))
    assert exact.item() == pytest.approx(0.0, abs=1e-5)
    raw = torch.zeros(1, 4, requires_grad=True)
    off = KIND.loss(task, {}, raw, target, torch.tensor([True]))
    assert off.item() > 0.01
    none = KIND.loss(task, {}, raw, target, torch.tensor([False]))
    none.backward()  # type: ignore[no-untyped-call]
    assert none.item() == 0.0
    assert raw.grad is not None
    assert torch.isfinite(raw.grad).all()


@pytest.mark.parametrize("loss", ["smooth_l1", "giou"])
def test_gradient_steps_move_the_box_onto_the_target(loss: str) -> None:
    task = Task("box", type="box", columns=COLUMNS, loss=loss)
    target = torch.tensor([[0.05, 0.6, 0.3, 0.95]])  # far from the initial (0.25, 0.75) box
    raw = torch.zeros(1, 4, requires_grad=True)
    optimizer = torch.optim.Adam([raw], lr=0.1)
    for _ in range(200):
        optimizer.zero_grad()
        KIND.loss(task, {}, raw, target, torch.tensor([True])).backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    assert box_iou(decode_boxes(raw.detach()), target).item() > 0.9


def test_predict_writes_normalised_and_pixel_corners() -> None:
    box = [0.1, 0.25, 0.6, 0.5]
    out = KIND.predict(TASK, {}, _raw(box))
    assert list(out) == [
        "box_x1",
        "box_y1",
        "box_x2",
        "box_y2",
        "box_x1_px",
        "box_y1_px",
        "box_x2_px",
        "box_y2_px",
    ]
    got = [float(out[f"box_{c}"][0]) for c in COLUMNS]
    assert got == pytest.approx(box, abs=1e-6)
    pixels = [float(out[f"box_{c}_px"][0]) for c in COLUMNS]
    assert pixels == pytest.approx([6.4, 8.0, 38.4, 16.0], abs=1e-4)  # width 64, height 32


def test_predict_without_image_size_has_no_pixel_columns() -> None:
    task = Task("b", type="box", columns=COLUMNS)
    assert list(KIND.predict(task, {}, torch.zeros(2, 4))) == ["b_x1", "b_y1", "b_x2", "b_y2"]


def test_score_is_mean_iou_and_share_above_one_half() -> None:
    target = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]])
    predicted = [[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.3], [0.25, 0.25, 0.75, 0.75]]
    raw = torch.cat([_raw(b) for b in predicted])
    scores = KIND.score(TASK, {}, raw, target, torch.tensor([True, True, True]))
    assert list(scores) == ["iou", "acc50", "n"]
    assert scores["iou"] == pytest.approx((1.0 + 0.6 + 1 / 7) / 3, abs=1e-5)
    assert scores["acc50"] == pytest.approx(2 / 3)
    assert scores["n"] == 3
    masked = KIND.score(TASK, {}, raw, target, torch.tensor([False, True, False]))
    assert masked["iou"] == pytest.approx(0.6, abs=1e-5)
    assert masked["n"] == 1


def test_score_without_labels_is_nan() -> None:
    scores = KIND.score(TASK, {}, torch.zeros(2, 4), torch.zeros(2, 4), torch.zeros(2).bool())
    assert np.isnan(scores["iou"])
    assert scores["n"] == 0
