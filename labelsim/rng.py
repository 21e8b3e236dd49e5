"""Random streams (layer 0): one independent stream per named source.

Every run owns a root :class:`numpy.random.SeedSequence`.  A source (a performer
group's task times, a batch's item stream, …) gets its own child sequence whose
``spawn_key`` is derived from the source's *name*, not from its position, so
adding a performer group does not change the numbers drawn by the others.  This
keeps what-if comparisons on common random numbers.  Replication ``r`` of a
forecast uses ``RandomStreams(entropy, (r,))``.  No global random state is used.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterator
from typing import cast

import numpy as np

__all__ = ["RandomStreams", "buffered", "fresh_entropy", "stable_key"]


def fresh_entropy() -> int:
    """Return new entropy from the operating system (for ``seed=None``)."""
    return int(cast(int, np.random.SeedSequence().entropy))


def stable_key(name: str) -> int:
    """A 32-bit key for ``name`` that is the same in every process and Python version."""
    return zlib.crc32(name.encode("utf-8"))


class RandomStreams:
    """Factory of independent generators, one per named source.

    Args:
        entropy: the root seed (an int); ``None`` draws fresh entropy.
        key: extra spawn key, e.g. ``(replication,)``.
    """

    def __init__(self, entropy: int | None, key: tuple[int, ...] = ()) -> None:
        self.entropy: int = fresh_entropy() if entropy is None else int(entropy)
        self.key: tuple[int, ...] = tuple(int(k) for k in key)

    def sequence(self, name: str) -> np.random.SeedSequence:
        """The seed sequence of source ``name``."""
        return np.random.SeedSequence(self.entropy, spawn_key=(*self.key, stable_key(name)))

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for source ``name`` (PCG64)."""
        return np.random.Generator(np.random.PCG64(self.sequence(name)))

    def child(self, index: int) -> RandomStreams:
        """The streams of replication ``index``."""
        return RandomStreams(self.entropy, (*self.key, int(index)))


def buffered(draw: Callable[[int], np.ndarray], block: int = 2048) -> Iterator[float]:
    """An endless iterator over values drawn ``block`` at a time by ``draw(n)``.

    Calling numpy for one number costs about a microsecond; the simulation's
    inner loop calls ``next()`` on this iterator instead (tens of nanoseconds).
    """
    blocks = iter(lambda: draw(block).tolist(), None)
    return itertools.chain.from_iterable(blocks)
