"""Running state whose size is known only at the first step (the number of shared parameters)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

__all__ = ["LazyStateMixin"]


class LazyStateMixin(nn.Module):
    """Buffers named in ``_lazy_buffers`` start empty and take their shape from a checkpoint.

    ``load_state_dict`` would refuse a ``[T, P]`` tensor for an empty ``[0]`` buffer, so the
    buffer is resized to the saved shape before loading: a resumed run continues the same state.
    """

    _lazy_buffers: tuple[str, ...] = ()

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        for name in self._lazy_buffers:
            saved = state_dict.get(prefix + name)
            current = getattr(self, name)
            if isinstance(saved, Tensor) and saved.shape != current.shape:
                setattr(self, name, current.new_empty(saved.shape))
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
