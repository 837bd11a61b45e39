"""Step sequences (``[[sequences]]``): one value per 16th note, looping, published as ``seq.<id>``.

::

    [[sequences]]
    id = "hats"
    steps = [1, 0, 0.5, 0, 1, 0, 0.5, 0.25]   # one value per step, 1 to 64 steps
    step = "1/4beat"                          # step length: a 16th note in 4/4 (the default)
    glide = false                             # true: slide linearly from each step to the next

Step 1 starts on the scene's bar 1 (`live.modulation.timeline`), so a 16-step sequence of 16ths
fills one 4/4 bar and stays on the grid through tempo changes. Like an LFO, the step is
computed from the beat count every frame (no state), so nothing drifts and a hot reload does not
restart the pattern. Values are plain numbers; mappings read 0..1 by default (use their
``input_range`` for other values).

Threads: parsing at load time on any thread; `StepSequence` on the render thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from live.modulation.timeline import (
    Duration,
    SceneTime,
    TimeSpecError,
    parse_duration,
)
from live.values import describe_value, is_finite_number

#: Keys of a ``[[sequences]]`` table.
SEQUENCE_KEYS = ("id", "steps", "step", "glide")
MAX_STEPS = 64
#: Default step: a 16th note (a quarter of a beat).
DEFAULT_STEP = Duration(0.25, "beat")


@dataclass(frozen=True)
class SequenceSpec:
    """A validated ``[[sequences]]`` table. Immutable; `build` makes the runtime sequence.

    Attributes:
        id: its id (the signal is ``seq.<id>``).
        steps: the values, in order.
        step: the length of one step (beats or bars).
        glide: slide from each value to the next instead of holding it.
    """

    id: str
    steps: tuple[float, ...]
    step: Duration = DEFAULT_STEP
    glide: bool = False

    def build(self) -> StepSequence:
        """The runtime sequence (render thread)."""
        return StepSequence(self)


class StepSequence:
    """A step sequence's value at a frame. Render thread, stateless."""

    def __init__(self, spec: SequenceSpec) -> None:
        self.spec = spec
        self.signal = f"seq.{spec.id}"

    def step_at(self, now: SceneTime) -> tuple[int, float]:
        """(index of the step playing, fraction of it that has passed)."""
        length = self.spec.step.beats(now.beats_per_bar, now.bpm)
        # Forgive float noise so a step that starts exactly on this frame's beat plays now.
        steps = now.position / length + 1e-9
        whole = math.floor(steps)
        return whole % len(self.spec.steps), steps - whole

    def value(self, bus: Any, now: SceneTime) -> float:
        """The value of the step playing now (glided towards the next one if asked)."""
        values = self.spec.steps
        index, fraction = self.step_at(now)
        if not self.spec.glide:
            return values[index]
        a, b = values[index], values[(index + 1) % len(values)]
        return a + (b - a) * fraction


def parse_sequence(table: dict[str, Any]) -> SequenceSpec:
    """Read a ``[[sequences]]`` table (its id is checked by the scene reader). Any thread.

    Raises:
        TimeSpecError: its path names the key inside the table.
    """
    steps = table.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        got = f"{len(steps)} values" if isinstance(steps, list) else describe_value(steps)
        raise TimeSpecError(("steps",), f"expected an array of 1 to {MAX_STEPS} numbers, one per "
                                        f"step (e.g. [1, 0, 0.5, 0]), got {got}")
    for i, v in enumerate(steps):
        if not is_finite_number(v):
            raise TimeSpecError(("steps", i), f"expected a number, got {describe_value(v)}")
    out: dict[str, Any] = {"id": str(table.get("id", "")),
                           "steps": tuple(float(v) for v in steps)}
    if "step" in table:
        try:
            out["step"] = parse_duration(table["step"], ("beat", "bar"), hi=64.0,
                                         what="a step length")
        except TimeSpecError as exc:
            raise exc.within("step") from None
    if "glide" in table:
        if not isinstance(table["glide"], bool):
            raise TimeSpecError(("glide",), f"expected true or false, got "
                                            f"{describe_value(table['glide'])}")
        out["glide"] = table["glide"]
    return SequenceSpec(**out)
