"""Run configuration: YAML -> typed schema (with every problem reported at once) -> builders."""

from manyheads.config.load import load_config, parse_overrides
from manyheads.config.schema import DataConfig, ModelConfig, RunConfig

__all__ = ["DataConfig", "ModelConfig", "RunConfig", "load_config", "parse_overrides"]
