"""The locust user of bench/serve.py: single-row prediction requests, no think time.

    SERVE_BENCH_ROWS=rows.json SERVE_BENCH_MODEL=census \\
        locust -f bench/_serve_locust.py --headless -u 8 -r 8 -t 20s --host http://127.0.0.1:P

``rows.json`` is a JSON list of rows (dicts of input columns); the users take them in turn (one
cycle shared by all users), each request ``POST /v1/models/{model}/predict`` with
``{"rows": [row]}``. A request fails unless it answers 200 with one prediction.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from locust import FastHttpUser, constant, task

_ROWS = json.loads(Path(os.environ["SERVE_BENCH_ROWS"]).read_text(encoding="utf-8"))
_MODEL = os.environ["SERVE_BENCH_MODEL"]
_BODIES = itertools.cycle([json.dumps({"rows": [row]}) for row in _ROWS])


class PredictUser(FastHttpUser):
    """One client: sends the next row as soon as the previous answer arrived."""

    wait_time = constant(0)

    @task
    def predict(self) -> None:
        """One single-row request; anything but 200 with one prediction is a failure."""
        path = f"/v1/models/{_MODEL}/predict"
        headers = {"Content-Type": "application/json"}
        with self.client.post(
            path, data=next(_BODIES), headers=headers, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif len(response.json().get("predictions", [])) != 1:
                response.failure("not one prediction")
