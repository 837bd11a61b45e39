"""Envelopes (``[[envelopes]]``): ADSR shapes fired by a signal, published as ``env.<id>``.

::

    [[envelopes]]
    id = "kick"
    trigger = "audio.onset.kick"   # any source: audio.onset, audio.beat, midi.note.1.36, osc./go
    attack = 0.01                  # seconds, or musical: "1/16beat", "1beat", "1bar"
    decay = "1/4beat"
    sustain = 0.6                  # level held while the gate stays open, 0..1
    release = 0.3
    hold = 0.0                     # keep the gate open at least this long after a trigger
    threshold = 0.0                # the gate is open while the trigger source is above this
    velocity = false               # true: the peak is the trigger's value (MIDI velocity)

The gate opens when the trigger source rises above ``threshold`` and closes when it falls back
(a one-frame trigger such as ``audio.onset`` closes it at once; ``hold`` keeps it open longer).
When the gate opens the level rises to the peak (1, or the trigger's value with ``velocity``)
in ``attack``, starting from where it is (a retrigger never jumps); the attack always completes.
Then it falls to ``sustain`` x peak in ``decay`` and stays there while the gate is open; when
the gate closes it falls to 0 in ``release``. Segments are linear; the level is 0..1.

Musical times are converted at the current tempo every frame, so "1beat" stays one beat when the
tempo changes. Time advances by the frame's dt (the injected clock): an envelope renders the
same offline as live.

Threads: parsing at load time on any thread; `Envelope` on the render thread (it keeps state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from live.modulation.timeline import (
    Duration,
    SceneTime,
    TimeSpecError,
    parse_duration,
)
from live.values import describe_value, is_finite_number

#: Keys of an ``[[envelopes]]`` table.
ENVELOPE_KEYS = ("id", "trigger", "attack", "decay", "sustain", "release", "hold", "threshold",
                 "velocity")
#: Longest attack, decay, release or hold, in seconds or beats.
MAX_TIME = 600.0
DEFAULT_ATTACK = Duration(0.01, "s")
DEFAULT_DECAY = Duration(0.2, "s")
DEFAULT_RELEASE = Duration(0.2, "s")
NO_HOLD = Duration(0.0, "s")
#: Stages of an envelope (for tests and the HUD).
IDLE, ATTACK, DECAY, SUSTAIN, RELEASE = "idle", "attack", "decay", "sustain", "release"


@dataclass(frozen=True)
class EnvelopeSpec:
    """A validated ``[[envelopes]]`` table. Immutable; `build` makes the runtime envelope.

    Attributes:
        id: its id (the signal is ``env.<id>``).
        trigger: the source that opens the gate.
        attack, decay, release, hold: segment lengths (seconds, beats or bars).
        sustain: level held while the gate is open, as a fraction of the peak.
        threshold: the gate is open while the trigger is above it.
        velocity: the peak is the trigger's value instead of 1.
    """

    id: str
    trigger: str
    attack: Duration = DEFAULT_ATTACK
    decay: Duration = DEFAULT_DECAY
    sustain: float = 0.0
    release: Duration = DEFAULT_RELEASE
    hold: Duration = NO_HOLD
    threshold: float = 0.0
    velocity: bool = False

    def build(self) -> Envelope:
        """The runtime envelope (render thread)."""
        return Envelope(self)


class Envelope:
    """An ADSR envelope driven by a gate signal. Render thread; keeps its level and stage."""

    def __init__(self, spec: EnvelopeSpec) -> None:
        self.spec = spec
        self.signal = f"env.{spec.id}"
        self.level = 0.0
        self.stage = IDLE
        self.peak = 1.0
        self._gate_was_open = False
        self._hold_left = 0.0  # seconds the gate stays open after the last trigger
        self._release_from = 0.0  # the level the release started at (its slope)

    def adopt(self, previous: Envelope) -> None:
        """Continue from another envelope's state (a hot reload of the same scene)."""
        self.level, self.stage, self.peak = previous.level, previous.stage, previous.peak
        self._gate_was_open = previous._gate_was_open
        self._hold_left = previous._hold_left
        self._release_from = previous._release_from

    def value(self, bus: Any, now: SceneTime) -> float:
        """Read the trigger from `bus`, advance by the frame's dt and return the level."""
        s = self.spec
        x = bus.get(s.trigger, 0.0)
        source_open = x > s.threshold
        rising = source_open and not self._gate_was_open
        self._gate_was_open = source_open
        bpb, bpm = now.beats_per_bar, now.bpm
        if rising:
            self.stage = ATTACK
            self.peak = min(max(x, 0.0), 1.0) if s.velocity else 1.0
            self._hold_left = s.hold.seconds(bpb, bpm)
        gate = source_open or self._hold_left > 0.0
        self._advance(now.dt, gate, bpb, bpm)
        self._hold_left = max(0.0, self._hold_left - now.dt)
        return self.level

    def _advance(self, dt: float, gate: bool, bpb: int, bpm: float) -> None:
        """Move through the stages for `dt` seconds, carrying leftover time into the next one."""
        s = self.spec
        # Float residue (a level of 1e-17 left over) must not keep a segment going for a frame.
        left = dt + 1e-12
        for _ in range(4):  # at most attack -> decay -> sustain/release -> idle in one frame
            if self.stage == ATTACK:
                if self.level >= self.peak:  # a softer retrigger while still loud: decay from here
                    self.stage = DECAY
                    continue
                length = s.attack.seconds(bpb, bpm)
                # A constant slope (peak per attack time) from wherever the level is.
                need = (self.peak - self.level) * length / self.peak
                if need <= left:
                    left -= need
                    self.level = self.peak
                    self.stage = DECAY
                    continue
                self.level += left * self.peak / length
                return
            if self.stage in (DECAY, SUSTAIN) and not gate:
                self.stage = RELEASE
                self._release_from = self.level
            if self.stage == DECAY:
                target = s.sustain * self.peak
                length = s.decay.seconds(bpb, bpm)
                drop = max(self.level, self.peak) - target
                need = (self.level - target) * length / drop if drop > 0 else 0.0
                if need <= left:
                    left -= max(need, 0.0)
                    self.level = target
                    self.stage = SUSTAIN
                    continue
                self.level -= left * drop / length
                return
            if self.stage == SUSTAIN:
                self.level = s.sustain * self.peak
                return
            if self.stage == RELEASE:
                length = s.release.seconds(bpb, bpm)
                start = max(self._release_from, 1e-12)
                need = self.level * length / start
                if need <= left:
                    self.level = 0.0
                    self.stage = IDLE
                    return
                self.level -= left * start / length
                return
            return  # idle


def parse_envelope(table: dict[str, Any]) -> EnvelopeSpec:
    """Read an ``[[envelopes]]`` table (id and the trigger's name are checked by the scene
    reader). Any thread.

    Raises:
        TimeSpecError: its path names the key inside the table.
    """
    trigger = table.get("trigger")
    if not isinstance(trigger, str) or not trigger:
        raise TimeSpecError(("trigger",), "missing trigger = \"<source>\": the signal that fires "
                                          "the envelope, e.g. \"audio.onset.kick\", "
                                          "\"audio.beat\", \"midi.note.1.36\" or \"osc./go\"")
    out: dict[str, Any] = {"id": str(table.get("id", "")), "trigger": trigger}
    for key in ("attack", "decay", "release", "hold"):
        if key in table:
            try:
                out[key] = parse_duration(table[key], ("s", "beat", "bar"), hi=MAX_TIME,
                                          allow_zero=True, what=f"the {key} time")
            except TimeSpecError as exc:
                raise exc.within(key) from None
    for key in ("sustain", "threshold"):
        if key in table:
            value = table[key]
            hi = 1.0 if key == "sustain" else 0.999
            if not is_finite_number(value) or not 0.0 <= value <= hi:
                raise TimeSpecError((key,), f"expected a level from 0 to {hi:g}, got "
                                            f"{describe_value(value)}")
            out[key] = float(value)
    if "velocity" in table:
        if not isinstance(table["velocity"], bool):
            raise TimeSpecError(("velocity",), f"expected true or false, got "
                                               f"{describe_value(table['velocity'])}")
        out["velocity"] = table["velocity"]
    return EnvelopeSpec(**out)
