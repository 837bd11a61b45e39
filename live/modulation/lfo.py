"""LFOs (``[[lfos]]``): periodic signals locked to the beat, published as ``lfo.<id>``.

::

    [[lfos]]
    id = "wobble"
    shape = "sine"        # sine, triangle, saw_up, saw_down, square, random, smooth_random
    rate = "1bar"         # one cycle per bar; "1/4beat", "1beat", "2bar", "3/2bar" or "0.5hz"
    phase = 0.25          # offset in cycles, 0..1 (optional)
    duty = 0.25           # square only: the part of the cycle that is high (optional)
    retrigger = "bar"     # restart the cycle on every bar ("beat", "none"; optional)
    seed = 7              # random shapes: which random sequence (optional)

Values are levels from 0 to 1 (a mapping scales them into a target's range). ``sine`` starts at
0.5 rising, ``triangle`` and ``saw_up`` start at 0, ``square`` starts high. ``random`` holds a
new random value for each cycle (sample and hold); ``smooth_random`` glides from one random
value to the next over each cycle.

The phase is *computed* from the scene's timeline every frame, never accumulated: a musical
rate counts beats since the scene's bar 1 (`live.modulation.timeline`), so the LFO stays locked
to the beat through any number of bars and tempo changes and cannot drift, and a hot reload of
the scene (which keeps the scene's start) continues the LFO where it was. A rate in Hz counts
seconds since the scene started instead. Random values come from a hash of the seed and the
cycle number, so they are the same in every render of the same scene.

A mapping may also name an LFO that no table defines, as ``lfo.<shape>.<rate>`` with a whole
number of beats, bars or Hz, e.g. ``lfo.sine.1bar``, ``lfo.saw_up.2beat``,
``lfo.square.4hz``: the scene then runs that LFO with default settings (`implicit_lfo`).

Threads: parsing at load time on any thread; `Lfo.value` on the render thread (no state).
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from typing import Any

from live.modulation.timeline import (
    Duration,
    SceneTime,
    TimeSpecError,
    close_match,
    parse_duration,
)
from live.values import describe_value, is_finite_number

SHAPES = ("sine", "triangle", "saw_up", "saw_down", "square", "random", "smooth_random")
RETRIGGERS = ("none", "beat", "bar")
#: Keys of an ``[[lfos]]`` table.
LFO_KEYS = ("id", "shape", "rate", "phase", "duty", "retrigger", "seed")
#: Fastest LFO: above about half the frame rate an LFO only aliases into flicker.
MAX_HZ = 30.0
MIN_HZ = 0.001
#: Longest musical period, in bars (or beats).
MAX_PERIOD = 1024.0
MAX_SEED = 2**31 - 1
#: The default rate: one cycle per beat.
ONE_BEAT = Duration(1.0, "beat")
_IMPLICIT_RATE_RE = re.compile(r"^([1-9][0-9]{0,3})(beat|bar|hz)$")


@dataclass(frozen=True)
class LfoSpec:
    """A validated ``[[lfos]]`` table. Immutable; `build` makes the runtime LFO.

    Attributes:
        id: the LFO's id (its signal is ``lfo.<id>``).
        shape: one of `SHAPES`.
        rate: the length of one cycle (beats or bars) or its frequency (hz).
        phase: offset in cycles, 0..1.
        duty: square: fraction of the cycle that is high.
        retrigger: restart the cycle on each "beat" or "bar", or "none".
        seed: random shapes: which random sequence.
    """

    id: str
    shape: str = "sine"
    rate: Duration = ONE_BEAT
    phase: float = 0.0
    duty: float = 0.5
    retrigger: str = "none"
    seed: int = 0

    def build(self) -> Lfo:
        """The runtime LFO (render thread)."""
        return Lfo(self)


def noise(seed: int, n: int) -> float:
    """A repeatable pseudo-random value in [0, 1) for cycle `n` of sequence `seed`. Any thread.

    An integer hash (multiply, xor-shift rounds) rather than a random generator, so the value of
    any cycle is known without playing the cycles before it.
    """
    x = (n * 0x9E3779B1 + seed * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x / 4294967296.0


def wave(shape: str, phase: float, duty: float = 0.5) -> float:
    """The periodic shapes at `phase` (0..1 within a cycle), as 0..1 levels. Any thread."""
    if shape == "sine":
        return 0.5 + 0.5 * math.sin(2.0 * math.pi * phase)
    if shape == "triangle":
        return 1.0 - abs(2.0 * phase - 1.0)
    if shape == "saw_up":
        return phase
    if shape == "saw_down":
        return 1.0 - phase
    if shape == "square":
        return 1.0 if phase < duty else 0.0
    raise ValueError(f"unknown periodic shape {shape!r}")


class Lfo:
    """An LFO's value at a frame, computed from the scene clock. Render thread, stateless."""

    def __init__(self, spec: LfoSpec) -> None:
        self.spec = spec
        self.signal = f"lfo.{spec.id}"

    def cycles(self, now: SceneTime) -> tuple[float, int]:
        """(cycles since the reference point + phase offset, retrigger count) at this frame.

        The reference point is the scene's bar 1 (musical rates) or its start (Hz), or the
        start of the current beat or bar when the LFO retriggers.
        """
        s = self.spec
        position = now.position  # beats since bar 1
        restart = 0
        if s.retrigger != "none":
            unit = 1.0 if s.retrigger == "beat" else float(now.beats_per_bar)
            restart = math.floor(position / unit + 1e-9)
            position -= restart * unit
        if s.rate.unit == "hz":
            if s.retrigger == "none":
                elapsed = now.seconds
            else:
                elapsed = position * 60.0 / now.bpm
            return elapsed * s.rate.amount + s.phase, restart
        period = s.rate.beats(now.beats_per_bar, now.bpm)
        return position / period + s.phase, restart

    def phase(self, now: SceneTime) -> float:
        """Position within the current cycle, 0 <= phase < 1."""
        c, _ = self.cycles(now)
        return c - math.floor(c)

    def value(self, bus: Any, now: SceneTime) -> float:
        """The LFO's level (0..1) at this frame. `bus` is unused (LFOs have no inputs)."""
        s = self.spec
        c, restart = self.cycles(now)
        n = math.floor(c)
        p = c - n
        if s.shape == "random":
            return noise(s.seed + restart * 7919, n)
        if s.shape == "smooth_random":
            seed = s.seed + restart * 7919
            a, b = noise(seed, n), noise(seed, n + 1)
            return a + (b - a) * (p * p * (3.0 - 2.0 * p))
        return wave(s.shape, p, s.duty)


def default_seed(ident: str) -> int:
    """A seed derived from the id, so two random LFOs of a scene differ. Any thread."""
    return zlib.crc32(ident.encode("utf-8")) & 0x7FFFFFFF


def parse_lfo(table: dict[str, Any]) -> LfoSpec:
    """Read an ``[[lfos]]`` table (its id is checked by the scene reader). Any thread.

    Raises:
        TimeSpecError: its path names the key inside the table.
    """
    ident = str(table.get("id", ""))
    shape = table.get("shape", "sine")
    if shape not in SHAPES:
        shown = repr(shape) if isinstance(shape, str) else describe_value(shape)
        raise TimeSpecError(("shape",), f"unknown LFO shape {shown}{close_match(shape, SHAPES)}; "
                                        f"allowed: {', '.join(SHAPES)}")
    rate = ONE_BEAT
    if "rate" in table:
        try:
            rate = parse_rate(table["rate"])
        except TimeSpecError as exc:
            raise exc.within("rate") from None
    phase = table.get("phase", 0.0)
    if not is_finite_number(phase) or not 0.0 <= phase <= 1.0:
        raise TimeSpecError(("phase",), f"expected a phase offset in cycles from 0 to 1, got "
                                        f"{describe_value(phase)}")
    duty = table.get("duty", 0.5)
    if "duty" in table and shape != "square":
        raise TimeSpecError(("duty",), f"'duty' is for the square shape, not {shape}")
    if not is_finite_number(duty) or not 0.0 < duty < 1.0:
        raise TimeSpecError(("duty",), f"expected the high part of the cycle, a number between 0 "
                                       f"and 1 (both excluded), got {describe_value(duty)}")
    retrigger = table.get("retrigger", "none")
    if retrigger not in RETRIGGERS:
        shown = repr(retrigger) if isinstance(retrigger, str) else describe_value(retrigger)
        raise TimeSpecError(("retrigger",), f"unknown retrigger {shown}"
                                            f"{close_match(retrigger, RETRIGGERS)}; allowed: "
                                            f"{', '.join(RETRIGGERS)}")
    seed = table.get("seed", default_seed(ident))
    if "seed" in table and shape not in ("random", "smooth_random"):
        raise TimeSpecError(("seed",), f"'seed' is for the random shapes, not {shape}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise TimeSpecError(("seed",), f"expected an integer from 0 to {MAX_SEED}, got "
                                       f"{describe_value(seed)}")
    return LfoSpec(id=ident, shape=shape, rate=rate, phase=float(phase), duty=float(duty),
                   retrigger=retrigger, seed=seed)


def parse_rate(value: Any) -> Duration:
    """An LFO rate: a cycle length in beats or bars, or a frequency in Hz. Any thread.

    Raises:
        TimeSpecError: (empty path) not a rate, or out of range.
    """
    rate = parse_duration(value, ("beat", "bar", "hz"), hi=MAX_PERIOD,
                          what="an LFO rate (the length of one cycle, or a frequency)")
    if rate.unit == "hz" and not MIN_HZ <= rate.amount <= MAX_HZ:
        raise TimeSpecError((), f"{value!r}: a frequency from {MIN_HZ:g} to {MAX_HZ:g} Hz "
                                "(faster LFOs only flicker at video frame rates)")
    return rate


def implicit_lfo(source: str) -> LfoSpec | None:
    """The LFO named by a mapping source ``lfo.<shape>.<rate>`` (e.g. ``lfo.sine.1bar``), or None
    when `source` is not of that form. Any thread."""
    parts = source.split(".")
    if len(parts) != 3 or parts[0] != "lfo" or parts[1] not in SHAPES:
        return None
    m = _IMPLICIT_RATE_RE.match(parts[2].lower())
    if m is None:
        return None
    amount = float(m.group(1))
    if m.group(2) == "hz" and amount > MAX_HZ:
        return None
    ident = f"{parts[1]}.{parts[2]}"
    return LfoSpec(id=ident, shape=parts[1], rate=Duration(amount, m.group(2)),
                   seed=default_seed(ident))
