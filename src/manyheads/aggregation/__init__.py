"""Gradient aggregators: per-task gradients [T, P] of the shared parameters -> one update [P]."""

from manyheads.aggregation.base import Aggregator

__all__ = ["Aggregator"]
