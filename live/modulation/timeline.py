"""A scene's musical time: positions, durations, quantize boundaries, transitions, and the
per-frame runner of the scene's tracks, LFOs, envelopes and step sequences.

Musical positions are written ``"bar.beat.tick"``: bar and beat count from 1, a beat has
`TICKS_PER_BEAT` (960) ticks, and the missing parts default to the start (``"3"`` is ``"3.1.0"``).
**Bar 1 of a scene starts at the first downbeat at or after the moment the scene became
active**, counted in the scene's ``beats_per_bar`` on the engine's `BeatClock`; a scene that
starts mid-bar therefore waits for the next "one" (its position is negative until then). All
positions are beats of the BeatClock, so they follow tempo changes, tap tempo, Link and MIDI
clock. What must not follow the tempo is written in seconds since the scene became active.

Durations are strings with a unit: ``"1/4beat"``, ``"1beat"``, ``"2bar"``, ``"3/2bar"``,
``"0.5hz"`` (a frequency, for LFO rates), or a plain number of seconds where seconds are allowed.

Quantize: a transition (or cue) waits for the next ``beat``, ``bar`` or ``phrase`` boundary of
the running scene's timeline (a phrase is ``phrase`` bars, 8 by default, counted from bar 1).

`SceneModulation` runs a scene's modulators once per frame on the render thread: LFOs, step
sequences and envelopes publish ``lfo.<id>``, ``seq.<id>`` and ``env.<id>`` on the signals bus
(before the scene's mappings read it), and keyframe tracks set their targets (after the
mappings, so a track's choreography wins over a mapping of the same target).

Threads: parsing runs at load time on any thread; `SceneModulation` and `SceneTime` belong to
the render thread.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from live.values import describe_value, is_finite_number

#: Ticks in one beat (the resolution of "bar.beat.tick" positions; MIDI files use the same).
TICKS_PER_BEAT = 960
#: Units of a duration string.
DURATION_UNITS = ("beat", "bar", "s", "hz")
#: Quantize units of a transition or cue.
QUANTIZE_UNITS = ("none", "beat", "bar", "phrase")
#: Bars in a phrase unless a transition says otherwise.
DEFAULT_PHRASE_BARS = 8
PHRASE_BARS_RANGE = (1, 64)
#: Transition kinds: cut (no fade), crossfade (the engine's mix), wipe (shaders/transitions/wipe),
#: shader (any ISF transition: startImage, endImage, progress).
TRANSITION_KINDS = ("cut", "crossfade", "wipe", "shader")
#: Wipe directions (where the edge travels) and their angles in degrees.
WIPE_DIRECTIONS = {"right": 0.0, "up": 90.0, "left": 180.0, "down": 270.0}
#: Keys of a ``[transition]`` table (and of a set-list entry's ``transition``).
TRANSITION_KEYS = ("kind", "length", "quantize", "phrase", "ease", "direction", "softness",
                   "shader", "params")
#: Longest transition, in seconds at the tempo it starts at.
MAX_TRANSITION_S = 60.0
#: Comparisons of beat counts forgive this much float noise (a nanobeat: far below a frame).
BEAT_EPSILON = 1e-9

_FRACTION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:/\s*([0-9]+(?:\.[0-9]*)?))?\s*"
                          r"([A-Za-z]+)\s*$")
_UNIT_ALIASES = {"beat": "beat", "beats": "beat", "b": "beat", "bar": "bar", "bars": "bar",
                 "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
                 "hz": "hz"}


class TimeSpecError(ValueError):
    """A value in a time table that cannot be used.

    Attributes:
        path: the key path inside the table being read, e.g. ("keys", 2, "at"); empty for the
            table itself. Readers prepend the table's own path.
        message: what is wrong and what is allowed, without the location.
    """

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        self.path = tuple(path)
        self.message = message
        where = ".".join(str(p) for p in self.path)
        super().__init__(f"{where}: {message}" if where else message)

    def within(self, *prefix: str | int) -> TimeSpecError:
        """The same error with `prefix` put in front of its path."""
        return TimeSpecError((*prefix, *self.path), self.message)


def close_match(word: Any, choices: Sequence[str]) -> str:
    """" (did you mean 'x'?)" or "". Any thread."""
    if not isinstance(word, str):
        return ""
    from live.scene import did_you_mean  # late import: live.scene imports this module

    return did_you_mean(word, choices)


# --------------------------------------------------------------------------------------------
# Positions


@dataclass(frozen=True, order=True)
class Position:
    """A musical position: bar and beat from 1, tick 0..959 within the beat."""

    bar: int
    beat: int = 1
    tick: int = 0

    def beats(self, beats_per_bar: int) -> float:
        """Beats after the start of bar 1 (bar 1 beat 1 tick 0 is 0.0)."""
        return (self.bar - 1) * beats_per_bar + (self.beat - 1) + self.tick / TICKS_PER_BEAT

    def __str__(self) -> str:
        return f"{self.bar}.{self.beat}.{self.tick}"


def parse_position(value: Any, beats_per_bar: int) -> Position:
    """Read ``"bar.beat.tick"`` (``"3"``, ``"3.2"``, ``"3.2.480"``) or an integer bar.

    Raises:
        TimeSpecError: (with an empty path) not that shape, or a part out of range.
    """
    shape = (f'expected a position "bar.beat.tick" (bar from 1, beat 1..{beats_per_bar}, '
             f'tick 0..{TICKS_PER_BEAT - 1}), e.g. "3.1" or "2.4.480"')
    if isinstance(value, int) and not isinstance(value, bool):
        parts = [str(value)]
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", value.strip()):
        parts = value.strip().split(".")
    else:
        raise TimeSpecError((), f"{shape}; got {describe_value(value)}")
    numbers = [int(p) for p in parts] + [1, 0][len(parts) - 1:]
    bar, beat, tick = numbers[:3]
    if bar < 1:
        raise TimeSpecError((), f"bar {bar}: bars count from 1 (bar 1 is the first bar of the "
                                "scene); " + shape)
    if not 1 <= beat <= beats_per_bar:
        raise TimeSpecError((), f"beat {beat} does not exist in a bar of {beats_per_bar} beats; "
                                + shape)
    if not 0 <= tick < TICKS_PER_BEAT:
        raise TimeSpecError((), f"tick {tick}: a beat has ticks 0..{TICKS_PER_BEAT - 1}; " + shape)
    return Position(bar, beat, tick)


def format_position(beats: float, beats_per_bar: int) -> str:
    """Beats after bar 1 as "bar.beat" for people (the HUD): 9.5 in 4/4 is "3.2". Any thread.

    Before bar 1 (the wait for the first downbeat) the bar is 0 or negative.
    """
    whole = math.floor(beats + BEAT_EPSILON)
    bar = math.floor(whole / beats_per_bar)
    return f"{bar + 1}.{whole - bar * beats_per_bar + 1}"


# --------------------------------------------------------------------------------------------
# Durations


@dataclass(frozen=True)
class Duration:
    """A length of time: ``amount`` of ``unit`` (beat, bar, s) or a frequency (hz)."""

    amount: float
    unit: str

    @property
    def musical(self) -> bool:
        """Whether it follows the tempo (beats or bars)."""
        return self.unit in ("beat", "bar")

    def beats(self, beats_per_bar: int, bpm: float) -> float:
        """The duration in beats at tempo `bpm` (a frequency gives the length of one cycle)."""
        if self.unit == "beat":
            return self.amount
        if self.unit == "bar":
            return self.amount * beats_per_bar
        return self.seconds(beats_per_bar, bpm) * bpm / 60.0

    def seconds(self, beats_per_bar: int, bpm: float) -> float:
        """The duration in seconds at tempo `bpm` (a frequency gives its period)."""
        if self.unit == "s":
            return self.amount
        if self.unit == "hz":
            return 1.0 / self.amount
        return self.beats(beats_per_bar, bpm) * 60.0 / bpm

    def __str__(self) -> str:
        return f"{self.amount:g}{self.unit}" if self.unit != "s" else f"{self.amount:g} s"


def parse_duration(value: Any, units: Sequence[str] = ("beat", "bar", "s"), *,
                   lo: float = 0.0, hi: float = math.inf, allow_zero: bool = False,
                   what: str = "a duration") -> Duration:
    """Read a duration: ``"1/4beat"``, ``"2bar"``, ``"0.5hz"``, ``"1.5s"``, or a number of seconds.

    Args:
        value: the TOML value.
        units: the units allowed here (a plain number means seconds, so needs "s").
        lo, hi: range of the amount in its own unit (inclusive).
        allow_zero: whether 0 is allowed.
        what: how messages name the value.

    Raises:
        TimeSpecError: (with an empty path) naming the allowed forms.
    """
    examples = {"beat": '"1/4beat"', "bar": '"2bar"', "s": '"1.5s"', "hz": '"0.5hz"'}
    forms = ", ".join(examples[u] for u in units)
    if "s" in units:
        forms += " or a number of seconds"
    shape = f"expected {what} like {forms}"
    if is_finite_number(value) and "s" in units:
        amount, unit = float(value), "s"
    else:
        m = _FRACTION_RE.match(value) if isinstance(value, str) else None
        unit = _UNIT_ALIASES.get(m.group(3).lower()) if m else None
        if m is None or unit is None:
            raise TimeSpecError((), f"{shape}; got {describe_value(value)}")
        amount = float(m.group(1))
        if m.group(2) is not None:
            den = float(m.group(2))
            if den == 0.0:
                raise TimeSpecError((), f"{value!r} divides by zero; {shape}")
            amount /= den
        if unit not in units:
            raise TimeSpecError((), f"{value!r}: the unit '{m.group(3)}' is not allowed here; "
                                    f"{shape}")
    if amount == 0.0 and not allow_zero:
        raise TimeSpecError((), f"{what} must be longer than zero; got {describe_value(value)}")
    if not (lo <= amount <= hi) or amount < 0.0:
        span = f"from {lo:g} to {hi:g}" if math.isfinite(hi) else f"at least {lo:g}"
        raise TimeSpecError((), f"{what} {describe_value(value)} is out of range: the amount must be "
                                f"{span}")
    return Duration(amount, unit)


# --------------------------------------------------------------------------------------------
# The scene clock and quantize


def first_downbeat(beat: float, beats_per_bar: int) -> float:
    """The beat count of the first bar start at or after `beat` (bar 1 of a scene). Any thread."""
    return math.ceil(beat / beats_per_bar - BEAT_EPSILON) * beats_per_bar


def next_boundary(beat: float, unit: str, origin: float, beats_per_bar: int,
                  phrase_bars: int = DEFAULT_PHRASE_BARS) -> float:
    """The first `unit` boundary at or after `beat` on a timeline whose bar 1 starts at `origin`.

    `unit` is one of `QUANTIZE_UNITS`; "none" returns `beat`. Any thread.
    """
    if unit == "none":
        return beat
    length = {"beat": 1.0, "bar": float(beats_per_bar),
              "phrase": float(beats_per_bar * phrase_bars)}[unit]
    return origin + math.ceil((beat - origin) / length - BEAT_EPSILON) * length


@dataclass(frozen=True)
class SceneTime:
    """Where a scene is at this frame. Immutable; made by the engine on the render thread.

    Attributes:
        t: the clock time of the frame (seconds).
        dt: seconds since the previous frame (0 on the first).
        beat: the BeatClock's continuous beat count.
        bpm: the tempo now.
        beats_per_bar: the bar length.
        origin: the beat count at which the scene's bar 1 starts.
        started: the clock time the scene became active.
    """

    t: float
    dt: float
    beat: float
    bpm: float
    beats_per_bar: int
    origin: float
    started: float

    @property
    def position(self) -> float:
        """Beats since the start of bar 1 (negative while waiting for it)."""
        return self.beat - self.origin

    @property
    def seconds(self) -> float:
        """Seconds since the scene became active."""
        return self.t - self.started


# --------------------------------------------------------------------------------------------
# Transitions


@dataclass(frozen=True)
class TransitionSpec:
    """How a switch to a scene looks and when it happens (``[transition]`` or a set-list entry).

    Attributes:
        kind: one of `TRANSITION_KINDS`.
        length: how long it takes (beats, bars or seconds; ignored for a cut).
        quantize: wait for the next beat, bar or phrase of the running scene ("none": now).
        phrase: bars per phrase (for quantize = "phrase").
        ease: easing of the progress (None: the engine's own smooth crossfade).
        direction: wipe direction in degrees (0 = towards the right, 90 = up).
        softness: wipe edge width, 0..1 of the picture.
        shader: the ISF transition's name (kind "shader"; "transitions/wipe" for a wipe).
        params: values of the transition shader's inputs.
    """

    kind: str = "crossfade"
    length: Duration = Duration(1.0, "bar")
    quantize: str = "none"
    phrase: int = DEFAULT_PHRASE_BARS
    ease: str | None = None
    direction: float = 180.0
    softness: float = 0.05
    shader: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def seconds(self, bpm: float, beats_per_bar: int) -> float:
        """The fade length in seconds at tempo `bpm` (0 for a cut)."""
        if self.kind == "cut":
            return 0.0
        return min(self.length.seconds(beats_per_bar, bpm), MAX_TRANSITION_S)

    @property
    def shader_name(self) -> str | None:
        """The ISF transition that draws it (None: the engine's crossfade, or a cut)."""
        if self.kind == "wipe":
            return "transitions/wipe"
        if self.kind == "crossfade" and self.ease is not None:
            return "transitions/crossfade"
        return self.shader if self.kind == "shader" else None

    @property
    def shader_params(self) -> dict[str, Any]:
        """The shader's input values (a wipe's direction and softness included)."""
        if self.kind == "wipe":
            return {"angle": self.direction, "softness": self.softness}
        return dict(self.params)

    def describe(self) -> str:
        """A short text for the HUD, e.g. "wipe 2beat on the next bar"."""
        if self.kind == "cut":
            text = "cut"
        else:
            text = f"{self.kind if self.kind != 'shader' else self.shader} {self.length}"
        if self.quantize != "none":
            text += f" on the next {self.quantize}"
        return text


def parse_transition(table: Any) -> TransitionSpec:
    """Check a ``[transition]`` table (or a set-list entry's inline ``transition``). Any thread.

    Raises:
        TimeSpecError: its path names the key inside the table.
    """
    if not isinstance(table, dict):
        raise TimeSpecError((), "expected a table like { kind = \"wipe\", length = \"1bar\", "
                                f"quantize = \"bar\" }}, got {describe_value(table)}")
    for key in table:
        if key not in TRANSITION_KEYS:
            raise TimeSpecError((key,), f"unknown key '{key}' in a transition"
                                        f"{close_match(key, TRANSITION_KEYS)}; allowed: "
                                        f"{', '.join(TRANSITION_KEYS)}")
    kind = _choice(table, "kind", TRANSITION_KINDS, "transition kind", "crossfade")
    out: dict[str, Any] = {"kind": kind}
    if "length" in table:
        if kind == "cut":
            raise TimeSpecError(("length",), "a cut has no length; use kind = \"crossfade\" (or "
                                             "another kind) for a transition that takes time")
        try:
            out["length"] = parse_duration(table["length"], ("beat", "bar", "s"), hi=1024.0,
                                           what="a transition length")
        except TimeSpecError as exc:
            raise exc.within("length") from None
        if out["length"].unit == "s" and out["length"].amount > MAX_TRANSITION_S:
            raise TimeSpecError(("length",), f"at most {MAX_TRANSITION_S:g} seconds")
    out["quantize"] = _choice(table, "quantize", QUANTIZE_UNITS, "quantize unit", "none")
    if "phrase" in table:
        value = table["phrase"]
        lo, hi = PHRASE_BARS_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise TimeSpecError(("phrase",), f"expected the bars in a phrase, an integer from {lo} "
                                             f"to {hi}, got {describe_value(value)}")
        out["phrase"] = value
    if "ease" in table:
        from live.modulation.easing import EASING_NAMES

        if kind == "cut":
            raise TimeSpecError(("ease",), "a cut has no progress to ease")
        out["ease"] = _choice(table, "ease", EASING_NAMES, "easing", None)
    wipe_only = [k for k in ("direction", "softness") if k in table and kind != "wipe"]
    if wipe_only:
        raise TimeSpecError((wipe_only[0],), f"'{wipe_only[0]}' is for wipes (kind = \"wipe\"), "
                                             f"not a {kind}")
    if "direction" in table:
        value = table["direction"]
        if isinstance(value, str) and value in WIPE_DIRECTIONS:
            out["direction"] = WIPE_DIRECTIONS[value]
        elif is_finite_number(value) and -360.0 <= value <= 360.0:
            out["direction"] = float(value) % 360.0
        else:
            shown = repr(value) if isinstance(value, str) else describe_value(value)
            raise TimeSpecError(("direction",), f"unknown wipe direction {shown}"
                                                f"{close_match(value, list(WIPE_DIRECTIONS))}; "
                                                f"allowed: {', '.join(WIPE_DIRECTIONS)}, or an "
                                                "angle in degrees (0 = towards the right, 90 = up)")
    if "softness" in table:
        value = table["softness"]
        if not is_finite_number(value) or not 0.0 <= value <= 1.0:
            raise TimeSpecError(("softness",), f"expected the width of the wipe's edge, a number "
                                               f"from 0 (hard) to 1 (the whole picture), got "
                                               f"{describe_value(value)}")
        out["softness"] = float(value)
    if kind == "shader":
        shader = table.get("shader")
        if not isinstance(shader, str) or not shader.strip():
            raise TimeSpecError(("shader",), "a shader transition needs shader = \"<name>\": an "
                                             "ISF transition (inputs startImage, endImage, "
                                             "progress), e.g. \"transitions/wipe\"")
        out["shader"] = shader
    elif "shader" in table:
        raise TimeSpecError(("shader",), f"'shader' is for kind = \"shader\", not a {kind}")
    if "params" in table:
        params = table["params"]
        if kind != "shader":
            raise TimeSpecError(("params",), f"'params' are a shader transition's inputs; a "
                                             f"{kind} takes none")
        if not isinstance(params, dict):
            raise TimeSpecError(("params",), f"expected a table of input values, got "
                                             f"{describe_value(params)}")
        for name, value in params.items():
            if not (is_finite_number(value) or isinstance(value, bool) or (
                    isinstance(value, list) and 1 <= len(value) <= 4
                    and all(is_finite_number(v) for v in value))):
                raise TimeSpecError(("params", name), f"expected a number, true/false or an array "
                                                      f"of 1 to 4 numbers, got {describe_value(value)}")
        out["params"] = {k: (tuple(float(x) for x in v) if isinstance(v, list) else v)
                         for k, v in params.items()}
    return TransitionSpec(**out)


def _choice(table: Mapping[str, Any], key: str, choices: Sequence[str], what: str,
            default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if value not in choices:
        shown = repr(value) if isinstance(value, str) else describe_value(value)
        raise TimeSpecError((key,), f"unknown {what} {shown}{close_match(value, choices)}; "
                                    f"allowed: {', '.join(choices)}")
    return value


# --------------------------------------------------------------------------------------------
# Running a scene's modulators


class Modulator(Protocol):
    """A signal source that runs on the scene clock (an LFO, envelope or step sequence)."""

    #: Its name on the signals bus, e.g. "lfo.wobble".
    signal: str

    def value(self, bus: Any, now: SceneTime) -> float:
        """Its value for this frame (reads trigger sources from `bus`). Render thread."""
        ...


class TrackPlayer(Protocol):
    """A keyframe track: a value for every frame."""

    def value(self, now: SceneTime) -> float:
        """The track's value at this frame. Render thread."""
        ...


class SceneModulation:
    """A scene's modulators and tracks, built once per scene, run once per frame.

    Args:
        modulators: LFOs, sequences and envelopes in the order they run (an envelope may be
            triggered by an LFO or sequence listed before it).
        tracks: (track, setter) pairs; the setter applies the value to the track's target.

    Render thread.
    """

    def __init__(self, modulators: Sequence[Modulator] = (),
                 tracks: Sequence[tuple[TrackPlayer, Callable[[float], None]]] = ()) -> None:
        self.modulators = tuple(modulators)
        self.tracks = tuple(tracks)

    @classmethod
    def from_spec(cls, spec: Any, resolve: Callable[[int, str], Callable[[float], None]]
                  ) -> SceneModulation:
        """Build from a `SceneSpec`'s lfos, sequences, envelopes and tracks.

        `resolve(index, target)` turns track `index`'s target into a setter (the engine's target
        resolution; it raises SceneError for a target the scene does not have).
        """
        modulators = [s.build() for s in (*getattr(spec, "lfos", ()),
                                          *getattr(spec, "sequences", ()),
                                          *getattr(spec, "envelopes", ()))]
        tracks = [(t.build(), resolve(i, t.target)) for i, t in enumerate(getattr(spec, "tracks", ()))]
        return cls(modulators, tracks)

    def __bool__(self) -> bool:
        return bool(self.modulators or self.tracks)

    def publish(self, bus: Any, now: SceneTime) -> None:
        """Put every modulator's value for this frame on the bus (before the mappings run)."""
        for m in self.modulators:
            bus.set(m.signal, m.value(bus, now))

    def apply_tracks(self, now: SceneTime) -> None:
        """Set every track's target (after the mappings ran)."""
        for track, setter in self.tracks:
            setter(track.value(now))

    def adopt(self, previous: SceneModulation) -> None:
        """Take over the running state (envelope levels) of the same modulators of `previous`,
        so a hot reload of the scene file does not cut a fading envelope off."""
        before = {m.signal: m for m in previous.modulators}
        for m in self.modulators:
            old = before.get(m.signal)
            if old is not None and type(old) is type(m) and hasattr(m, "adopt"):
                m.adopt(old)
