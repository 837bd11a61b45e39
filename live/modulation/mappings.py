"""Mappings: sources on the signals bus drive targets (layer parameters, master controls).

Each mapping is a source, a chain of transform steps (`live.modulation.transforms`: input range,
button mode, deadzone, curve, invert, quantize, smoothing) and a target with an output range.
A source may drive several targets; several mappings into one target combine by their declared
mode (sum, max or multiply; all mappings into one target must declare the same mode).

A mapping whose source has never appeared on the bus contributes nothing, so a MIDI fader that
has not been touched yet leaves its target alone instead of pulling it to 0 at start-up; when
no mapping of a target contributes, the target is left out of `MappingSet.evaluate`'s result.

Runs on the render thread, once per frame, after the bus has been filled. The chains are
compiled into closures when the `MappingSet` is built, so a frame costs a few float operations
per mapping.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from live.modulation.signals import SignalBus
from live.modulation.transforms import FrameTime, TransformSpec, combine, compile_chain


class MappingConflict(ValueError):
    """Two mappings disagree: different combine modes into one target, or one MIDI controller
    read both as a relative encoder and as a position (or with two encoder modes).

    Attributes:
        first, second: indexes (in the `MappingSet`'s order) of the two disagreeing mappings.
        key: the option that disagrees ("combine" or "encoder").
    """

    def __init__(self, message: str, first: int, second: int, key: str) -> None:
        self.first, self.second, self.key = first, second, key
        super().__init__(message)


@dataclass(frozen=True)
class Mapping:
    """One binding: source -> transform chain -> ``lo + x * (hi - lo)`` -> target."""

    source: str
    target: str
    lo: float = 0.0
    hi: float = 1.0
    transform: TransformSpec = field(default_factory=TransformSpec)

    def value(self, bus: SignalBus) -> float:
        """The stateless reading of this mapping now: input range, curve, invert and output
        range, ignoring buttons, quantize and smoothing. Any thread (reads the bus only)."""
        t = self.transform
        x = bus.get(self.source, 0.0)
        if not math.isfinite(x):
            x = 0.0
        lo_in, hi_in = t.input_range
        x = (x - lo_in) / (hi_in - lo_in) if hi_in != lo_in else float(x >= hi_in)
        x = min(max(x, 0.0), 1.0)
        if t.deadzone:
            x = 0.0 if x <= t.deadzone else (x - t.deadzone) / (1.0 - t.deadzone)
        if t.curve != "linear":
            from live.modulation.transforms import curve_function

            x = min(max(curve_function(t.curve, t.curve_amount)(x), 0.0), 1.0)
        if t.invert:
            x = 1.0 - x
        return self.lo + x * (self.hi - self.lo)


def _decoding(t: TransformSpec) -> str:
    # 7-bit and 14-bit readings agree (a 14-bit value is the same 0..1, finer); an encoder's
    # steps do not mean a position at all.
    return f"a {t.encoder} encoder" if t.encoder is not None else "an absolute value"


class MappingSet:
    """All mappings of a scene (plus controller bindings), compiled for per-frame evaluation.

    Raises:
        MappingConflict: two mappings into one target declare different combine modes, or one
            source is read both as a relative encoder and otherwise.
    """

    def __init__(self, mappings: Iterable[Mapping] = ()) -> None:
        self.mappings: tuple[Mapping, ...] = tuple(mappings)
        modes: dict[str, tuple[str, int]] = {}
        decoding: dict[str, tuple[str, int]] = {}
        for i, m in enumerate(self.mappings):
            mode = m.transform.combine
            seen = modes.setdefault(m.target, (mode, i))
            if seen[0] != mode:
                raise MappingConflict(
                    f"mappings into '{m.target}' must combine the same way: mapping {seen[1]} "
                    f"says combine = \"{seen[0]}\", mapping {i} says \"{mode}\"", seen[1], i, "combine")
            how = _decoding(m.transform)
            seen = decoding.setdefault(m.source, (how, i))
            if seen[0] != how:
                raise MappingConflict(
                    f"source '{m.source}' is read two ways: mapping {seen[1]} as {seen[0]}, "
                    f"mapping {i} as {how}; one controller sends one kind of value",
                    seen[1], i, "encoder")
        self.combine_modes: dict[str, str] = {t: mode for t, (mode, _) in modes.items()}
        # (source, target, chain) per mapping; chains carry their own state.
        self._compiled = [(m.source, m.target, compile_chain(m.transform, m.lo, m.hi))
                          for m in self.mappings]

    def evaluate(self, bus: SignalBus, frame: FrameTime | None = None) -> dict[str, float]:
        """Target values for this frame (targets with no contributing mapping are absent).

        `frame` gives dt and the beat position to smoothing and quantize; without it they see
        dt = 0 and beat 0 (stateless use in tests and tools). Render thread.
        """
        ft = frame if frame is not None else FrameTime()
        parts: dict[str, list[float]] = {}
        for source, target, chain in self._compiled:
            if source not in bus:
                continue  # never seen: leave the target alone (see the module docstring)
            parts.setdefault(target, []).append(chain(bus.get(source), ft))
        modes = self.combine_modes
        return {t: (v[0] if len(v) == 1 else combine(modes[t], v)) for t, v in parts.items()}

    def midi_declarations(self) -> dict[str, str]:
        """MIDI CC sources that need special decoding: source name -> ``"cc14"`` or an encoder
        mode (`ENCODER_MODES`). The MIDI input decodes those CCs accordingly. Any thread."""
        out: dict[str, str] = {}
        for m in self.mappings:
            if m.transform.encoder is not None:
                out[m.source] = m.transform.encoder
            elif m.transform.bits == 14:
                out[m.source] = "cc14"
        return out

    @property
    def targets(self) -> list[str]:
        """Every target driven by at least one mapping, in first-mapping order."""
        return list(self.combine_modes)

    def __len__(self) -> int:
        return len(self.mappings)
