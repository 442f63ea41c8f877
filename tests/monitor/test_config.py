"""Bad monitor configs: every problem at once, exit code 2, no traceback; files kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from manyheads.cli.main import main
from manyheads.errors import ConfigError, DataError
from manyheads.monitor import load_monitor_config, parse_monitor_config
from manyheads.monitor._dashboard import check_dashboard_path
from manyheads.monitor._db import MonitorDB


def test_every_problem_is_reported_at_once() -> None:
    raw = {
        "crawl": {"start_urls": ["http://127.0.0.1/"], "store": "x.db", "folow": {}},
        "model": {"topic_task": ""},
        "detect": {"bucket": "soon", "method": "cusum", "sigma": -1},
        "alerts": {"webhook": "ftp://x"},
        "dashboard": "dash.png",
        "shedule": "5m",
    }
    with pytest.raises(ConfigError) as info:
        parse_monitor_config(raw, source="monitor.yaml")
    text = str(info.value)
    for needle in (
        "unknown key 'shedule'",
        "'crawl.store' is set by the monitor's 'store'",
        "crawl: unknown top-level key 'folow'",
        "'model.run' must name a trained manyheads run",
        "'model.topic_task' must be a name",
        "'detect.bucket' option of the monitor config must be a duration",
        "'detect.method' option of the monitor config must be one of pchart, ewma",
        "'detect.sigma' option of the monitor config must be a float > 0. Got -1",
        "'alerts.webhook' must be an http(s) URL",
        "'dashboard' must be the path of an .html file",
    ):
        assert needle in text
    assert text.startswith("monitor.yaml: 10 problems")


def test_overrides_set_nested_keys_and_report_every_bad_one(tmp_path: Path) -> None:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {"crawl": {"start_urls": ["http://127.0.0.1/"]}, "model": {"run": "runs/news"}}
        )
    )
    loaded = load_monitor_config(cfg, ["detect.bucket=30m", "model.negative_class=Down"])
    assert loaded.detect.bucket_s == 1800.0
    assert loaded.model.negative_class == "Down"
    assert loaded.model.run == "runs/news"
    with pytest.raises(ConfigError) as info:
        load_monitor_config(cfg, ["detect.hold", "detect.hold=[1,", "detect.hold=2"])
    assert info.value.problems[0] == "override 'detect.hold' must look like key.sub=value."
    assert info.value.problems[1].startswith("override 'detect.hold=[1,': the value is not valid")
    assert len(info.value.problems) == 2


def test_cli_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "crawl": {"start_urls": ["http://127.0.0.1/"]},
                "model": {"run": "runs/news"},
                "detect": {"hold": 0},
            }
        )
    )
    assert main(["monitor", str(cfg), "--once"]) == 2
    err = capsys.readouterr().err
    assert "manyheads monitor: error:" in err
    assert "'detect.hold'" in err
    assert "Traceback" not in err
    assert main(["monitor", str(cfg)]) == 2  # hold is checked before the schedule
    cfg.write_text(
        yaml.safe_dump(
            {
                "crawl": {"start_urls": ["http://127.0.0.1/"]},
                "model": {"run": str(tmp_path / "no-run")},
            }
        )
    )
    assert main(["monitor", str(cfg)]) == 2
    assert "give --once" in capsys.readouterr().err
    assert main(["monitor", str(cfg), "--every", "soon"]) == 2
    assert "'--every' must be a duration" in capsys.readouterr().err


def test_files_manyheads_did_not_write_are_refused(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text("<html>my own report</html>")
    with pytest.raises(DataError, match="not written by manyheads monitor"):
        check_dashboard_path(page)
    assert page.read_text() == "<html>my own report</html>"
    db = tmp_path / "mine.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE expenses (amount REAL)")
    before = db.read_bytes()
    with pytest.raises(DataError, match="not a manyheads crawl store"):
        MonitorDB(f"sqlite:///{db}")
    assert db.read_bytes() == before


def test_serve_needs_a_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "serve"]) == 2
    assert "'serve' needs the monitor config" in capsys.readouterr().err
