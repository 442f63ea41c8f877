"""Seeded randomness whose state is a buffer, so that it is saved in checkpoints and resumes."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from manyheads._validation import Constraints, Interval

__all__ = ["SEED", "SEEDED", "SeededMethod", "SeededRandom"]

#: The ``seed`` option of the seeded methods: any int.
SEED = Interval(int, None, None, closed="neither")
#: The option every seeded method adds to its ``_parameter_constraints``.
SEEDED: Constraints = {"seed": [SEED]}

_Draw = Callable[[torch.Generator], Tensor]


class SeededRandom(nn.Module):
    """A ``torch.Generator`` kept as the buffer ``rng_state`` (deterministic and resumable).

    Args:
        seed: the generator's seed.

    Example:
        >>> rng = SeededRandom(0)
        >>> a = rng.draw(lambda g: torch.rand(2, generator=g))
        >>> b = SeededRandom(0).draw(lambda g: torch.rand(2, generator=g))
        >>> bool((a == b).all())
        True
    """

    rng_state: Tensor

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.initial_seed = int(seed)
        self.register_buffer("rng_state", torch.Generator().manual_seed(int(seed)).get_state())

    def reset(self) -> None:
        """Restore the generator to its seed: the draws start over.

        Example:
            >>> rng = SeededRandom(3)
            >>> first = rng.seed()
            >>> rng.reset()
            >>> rng.seed() == first
            True
        """
        self.rng_state.copy_(torch.Generator().manual_seed(self.initial_seed).get_state())

    def draw(self, fn: _Draw) -> Tensor:
        """Call ``fn(generator)`` with the stored CPU generator and store its new state."""
        generator = torch.Generator()
        state: Tensor = self.rng_state
        generator.set_state(state.cpu())
        out = fn(generator)
        state.copy_(generator.get_state())
        return out

    def permutation(self, n: int) -> list[int]:
        """A random permutation of ``range(n)``."""
        return [int(i) for i in self.draw(lambda g: torch.randperm(n, generator=g))]

    def seed(self) -> int:
        """A fresh seed in [0, 2^62) drawn from the stored generator (for another generator)."""
        return int(self.draw(lambda g: torch.randint(0, 2**62, (1,), generator=g)))

    def device_generator(self, device: torch.device) -> torch.Generator:
        """A generator on ``device`` seeded from the stored one (draws stay on the device)."""
        return torch.Generator(device=device).manual_seed(self.seed())


class SeededMethod(nn.Module):
    """Mixin of the balancing methods that draw from a seeded generator (PCGrad, GradVac,
    GradDrop, RLW): their ``seed`` option (:data:`SEEDED`) makes :attr:`rng`, and :meth:`reset`
    restores it.

    Args:
        n_tasks: the number of tasks T, passed on to the method's base.
        seed: the generator's seed.
    """

    rng: SeededRandom

    def __init__(self, n_tasks: int, *, seed: int) -> None:
        super().__init__(n_tasks)
        self.rng = SeededRandom(seed)

    def reset(self) -> None:
        """Restore the seeded generator: a new run draws the same sequence."""
        self.rng.reset()
