"""The signals bus: every live input becomes a named float here.

Names follow ARCHITECTURE.md ("Names"): `audio.bass`, `beat.phase`, `midi.cc.1.21`, ... Levels are
0..1; a trigger is 1.0 for exactly one frame, then 0.

Threading: the bus belongs to the render thread. Input threads never write it directly; they
enqueue events that the engine drains at the top of a frame and writes here.
"""

from __future__ import annotations

from typing import Iterable, Mapping


class SignalBus:
    """Current value of every signal; triggers reset at the end of each frame. Render thread."""

    def __init__(self) -> None:
        self._values: dict[str, float] = {}
        self._triggers: set[str] = set()

    def set(self, name: str, value: float) -> None:
        """Set a level signal; it keeps its value until set again."""
        self._values[name] = float(value)

    def update(self, values: Mapping[str, float]) -> None:
        """Set many level signals at once (e.g. an audio frame's features)."""
        for name, value in values.items():
            self._values[name] = float(value)

    def trigger(self, name: str) -> None:
        """Fire a trigger: the signal reads 1.0 until `end_frame()`, then 0.0."""
        self._values[name] = 1.0
        self._triggers.add(name)

    def get(self, name: str, default: float = 0.0) -> float:
        return self._values.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        """Every signal seen so far, sorted (for `echoel signals` and the HUD)."""
        return sorted(self._values)

    def snapshot(self) -> dict[str, float]:
        return dict(self._values)

    def end_frame(self) -> None:
        """Reset the triggers fired this frame to 0 (called once per frame, after mappings ran)."""
        for name in self._triggers:
            self._values[name] = 0.0
        self._triggers.clear()

    def declare(self, names: Iterable[str]) -> None:
        """Make names known (at 0.0) before their first value arrives."""
        for name in names:
            self._values.setdefault(name, 0.0)
