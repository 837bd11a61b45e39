"""Mappings: sources on the signals bus drive targets (layer parameters, master controls).

This first version scales a 0..1 source into `range = [lo, hi]`; curves, smoothing, quantize and
button modes come with the controllers issue as further transform steps.

Runs on the render thread, once per frame, after the bus has been filled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from live.modulation.signals import SignalBus


@dataclass(frozen=True)
class Mapping:
    """One binding: `target = lo + clamp(source, 0, 1) * (hi - lo)`."""

    source: str
    target: str
    lo: float = 0.0
    hi: float = 1.0

    def value(self, bus: SignalBus) -> float:
        x = bus.get(self.source, 0.0)
        if not math.isfinite(x):
            x = 0.0
        x = min(max(x, 0.0), 1.0)
        return self.lo + x * (self.hi - self.lo)


class MappingSet:
    """All mappings of a scene. Several mappings to one target add their contributions."""

    def __init__(self, mappings: Iterable[Mapping] = ()) -> None:
        self.mappings: tuple[Mapping, ...] = tuple(mappings)

    def evaluate(self, bus: SignalBus) -> dict[str, float]:
        """Target values for this frame. Render thread."""
        out: dict[str, float] = {}
        for m in self.mappings:
            v = m.value(bus)
            out[m.target] = out[m.target] + v if m.target in out else v
        return out

    def __len__(self) -> int:
        return len(self.mappings)
