"""``monitor.yaml`` -> checked, frozen dataclasses (every problem reported at once).

The keys are documented in ``docs/monitoring.md``. The ``crawl`` section is a crawl config
(``docs/crawl.md``) checked by :func:`manyheads.crawl.parse_config`; its ``store`` is the
monitor's ``store``, so the crawl's pages and the monitor's tables share one database.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from manyheads.errors import ConfigError
from manyheads.monitor._config_rules import (
    TOP,
    check_unknown,
    parse_duration,
    read_alerts,
    read_crawl,
    read_detect,
    read_model,
    str_pairs,
)
from manyheads.monitor._specs import AlertSpec, DetectSpec, ModelSpec, MonitorConfig

__all__ = [
    "AlertSpec",
    "DetectSpec",
    "ModelSpec",
    "MonitorConfig",
    "load_monitor_config",
    "parse_duration",
    "parse_monitor_config",
]


def parse_monitor_config(raw: object, *, source: str | None = None) -> MonitorConfig:
    """Validate a parsed ``monitor.yaml`` mapping and build a :class:`MonitorConfig`.

    Args:
        raw: the mapping read from YAML.
        source: the file it came from (messages name it; a ``crawl: file.yaml`` is relative
            to its folder).

    Raises:
        ConfigError: listing every problem found.

    Example:
        >>> cfg = parse_monitor_config({"crawl": {"start_urls": ["http://h/"]},
        ...     "model": {"run": "runs/news"}, "detect": {"bucket": "30m"}})
        >>> cfg.detect.bucket_s, cfg.store, cfg.model.negative_class
        (1800.0, 'sqlite:///monitor.db', 'Bearish')
        >>> try:
        ...     parse_monitor_config({"crawl": {"start_urls": ["http://h/"]}, "model": {"run": "r"},
        ...         "detect": {"methd": "pchart", "hold": 0}})
        ... except ConfigError as exc:
        ...     print("\\n".join(exc.problems))  # doctest: +ELLIPSIS
        unknown key 'detect.methd'. Valid keys: bucket, method, ... Did you mean 'method'?
        The 'detect.hold' option of the monitor config must be an int >= 1. Got 0 instead.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError([f"the monitor config must be a mapping. Got {raw!r}."], source=source)
    problems: list[str] = []
    check_unknown("", raw, TOP, problems)
    store = raw.get("store", "sqlite:///monitor.db")
    if not isinstance(store, str) or not store:
        problems.append(f"'store' must be a database URL or path. Got {store!r} instead.")
        store = "sqlite:///monitor.db"
    if "crawl" not in raw:
        problems.append("'crawl' is required: the crawl config of the sources to watch.")
    base = Path(source).parent if source else None
    crawl = read_crawl(raw.get("crawl"), store, base, problems) if "crawl" in raw else {}
    model = read_model(raw.get("model"), problems)
    detect = read_detect(raw.get("detect"), problems)
    alerts = read_alerts(raw.get("alerts"), problems)
    fields = dict(MonitorConfig.__dataclass_fields__["fields"].default)  # type: ignore[arg-type]
    fields.update(dict(str_pairs("fields", raw.get("fields"), problems)))
    check_unknown("fields.", fields, ("headline", "published"), problems)
    dashboard = raw.get("dashboard")
    if dashboard is not None and not (isinstance(dashboard, str) and dashboard.endswith(".html")):
        problems.append(f"'dashboard' must be the path of an .html file. Got {dashboard!r}.")
    every = raw.get("every")
    every_s = parse_duration(every) if every is not None else None
    if every is not None and every_s is None:
        problems.append(f"'every' must be a duration such as 5m. Got {every!r} instead.")
    if problems:
        from manyheads.crawl._redact import redact

        raise ConfigError([redact(p) for p in problems], source=source)
    return MonitorConfig(
        crawl=crawl,
        store=store,
        model=model,
        detect=detect,
        alerts=alerts,
        fields=tuple(fields.items()),
        dashboard=dashboard,
        every_s=every_s,
    )


def load_monitor_config(
    path: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> MonitorConfig:
    """Read ``monitor.yaml``, apply ``key.sub=value`` overrides (YAML values), validate.

    Raises:
        ConfigError: a missing or unreadable file, bad YAML, or any invalid key or value.
    """
    from manyheads.crawl._overrides import read_with_overrides

    data, problems = read_with_overrides(
        Path(path), overrides, what="monitor config", set_dotted=_set_dotted
    )
    if problems:
        raise ConfigError(problems, source=str(path))
    return parse_monitor_config(data, source=str(path))


def _set_dotted(data: dict[str, Any], dotted: str, value: object) -> None:
    """Set ``a.b.c`` in ``data``, copying the mappings on the way (a non-mapping becomes one)."""
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, Mapping) else {}
        node = node[part]
    node[parts[-1]] = value
