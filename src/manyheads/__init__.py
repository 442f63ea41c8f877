"""manyheads: multi-task learning, one shared model with a head per task."""

__version__ = "0.1.0"

__all__ = ["__version__"]
