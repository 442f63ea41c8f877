"""An API fuzz run: schemathesis generates requests, valid and invalid, from the live server's
``/openapi.json`` (bounded examples per operation and mode) and none may get a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from tests.serve._server import Server

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402 - schemathesis brings hypothesis
from schemathesis.checks import not_a_server_error  # noqa: E402

pytestmark = pytest.mark.slow  # about 20 s of generated requests

MODES = ("positive", "negative")


def _examples(operation: Any) -> int:
    # an image row is 64 x 64 generated pixels: 5 examples take as long as 30 of the others
    return 5 if "/image/" in operation.path else 30


@pytest.mark.parametrize("mode", MODES)
def test_no_server_error(server: Server, mode: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12  # 4 service routes + describe and predict of 4 models
    for operation in operations:
        if mode == "negative" and operation.method.upper() != "POST":
            continue  # nothing to make invalid in a request without parameters
        strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

        @given(case=strategy)
        @settings(
            max_examples=_examples(operation),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,  # the same examples on every run
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error], timeout=30)

        check()
