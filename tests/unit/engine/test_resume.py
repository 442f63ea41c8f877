"""Which checkpoint a run continues (``manyheads.engine._resume.resume_point``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from manyheads import create_method
from manyheads.architectures import create_model
from manyheads.architectures.base import MTLModel
from manyheads.config.train import TrainSettings
from manyheads.data.preprocess import InputSpec
from manyheads.engine import Checkpoints, ResumePoint
from manyheads.engine._resume import resume_point
from manyheads.errors import InvalidParameterError


def _parts() -> tuple[MTLModel, torch.nn.Module]:
    model = create_model("hps", InputSpec(3, (), ()), {"a": 1, "b": 1}, hidden=[4], tower=[])
    return model, create_method("ew", 2)


def test_a_fresh_run_continues_nothing(tmp_path: Path) -> None:
    model, method = _parts()
    point = resume_point(
        Checkpoints(tmp_path),
        resume=False,
        model=model,
        method=method,
        settings=TrainSettings(),
    )
    assert point is None


def test_resume_without_a_run_directory_is_refused() -> None:
    model, method = _parts()
    with pytest.raises(InvalidParameterError, match=r"resume needs a run directory \('output'\)"):
        resume_point(
            None,
            resume=True,
            model=model,
            method=method,
            settings=TrainSettings(),
        )


def test_a_checkpoint_read_by_the_caller_is_not_read_again(tmp_path: Path) -> None:
    # the workflow reads and checks it before writing anything; the directory holds none
    model, method = _parts()
    restored: ResumePoint = ({"model": {}}, {"epoch": 1})
    point = resume_point(
        Checkpoints(tmp_path, restored=restored),
        resume=True,
        model=model,
        method=method,
        settings=TrainSettings(),
    )
    assert point is restored


def test_resume_with_no_checkpoint_in_the_directory_names_the_fix(tmp_path: Path) -> None:
    model, method = _parts()
    with pytest.raises(InvalidParameterError, match=r"holds no checkpoint\.json.*Drop --resume"):
        resume_point(
            Checkpoints(tmp_path),
            resume=True,
            model=model,
            method=method,
            settings=TrainSettings(),
        )
