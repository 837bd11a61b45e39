"""Transform steps between a mapping's source and its target.

A mapping reads one float from the signals bus and passes it through a fixed chain of steps,
each optional, in this order (the order is part of the file format, so it never depends on the
order keys are written in):

1. **relative encoder** (``encoder``) *or* **input range** (``input_range = [lo, hi]``). An
   encoder source carries the signed number of detent steps received this frame (the MIDI input
   decodes them, see `decode_relative`); the step accumulates them into a 0..1 position,
   ``sensitivity`` per step. Otherwise the input range maps ``lo..hi`` to ``0..1`` and clamps.
2. **button** (``button``): ``momentary`` (1 while held), ``toggle`` (each press flips 0/1) or
   ``trigger`` (1 for exactly one frame per press). A control is pressed while its value is above
   0, so soft note velocities press too.
3. **deadzone** (``deadzone = d``): values below ``d`` read 0, the rest is rescaled to 0..1 so the
   control still reaches 1. With ``deadzone_at = "center"`` the zone is a band ``d`` wide around
   0.5 instead (pitch bend, pan knobs, joysticks: a control let go near its centre reads exactly
   0.5); each half outside it is rescaled so the ends still reach 0 and 1.
4. **curve** (``curve``): ``linear``, ``exp`` (slow start), ``log`` (fast start), ``s-curve``
   (slow at both ends); ``curve_amount`` sets how strong (default 3).
5. **invert** (``invert = true``): ``1 - x``.
6. **quantize** (``quantize = "beat"`` or ``"bar"``): a change takes effect at the next beat or
   bar boundary of the BeatClock; a trigger fires on that boundary.
7. **smoothing** (``attack``, ``release``: time constants in seconds for rising and falling
   values). Frame-rate independent: each frame moves ``1 - exp(-dt / tau)`` of the way, so the
   envelope at a given time is the same at 30 and 144 fps.
8. **output range** (the mapping's ``range = [lo, hi]``; lo > hi inverts).

Several mappings into one target combine by the declared ``combine`` mode (`COMBINE_MODES`).

Everything here runs on the render thread, once per frame per mapping; `compile_chain` does the
work of interpreting options once at load so the per-frame call is a few float operations.
`parse_transform` checks the options of a table read from a scene or mapping file (any thread).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from live.values import describe_value, is_finite_number

CURVES = ("linear", "exp", "log", "s-curve")
BUTTON_MODES = ("momentary", "toggle", "trigger")
#: Relative encoder encodings of a 7-bit CC value (see `decode_relative`).
ENCODER_MODES = ("twos_complement", "sign_magnitude", "binary_offset")
COMBINE_MODES = ("sum", "max", "multiply")
QUANTIZE_MODES = ("beat", "bar")
#: Where a deadzone sits: at the bottom of the range, or around its centre (bipolar controls).
DEADZONE_PLACES = ("low", "center")
#: CC resolutions a binding can declare: 7-bit, or 14-bit (MSB on CC n, LSB on CC n + 32).
CC_BITS = (7, 14)

#: Transform keys of a ``[[mappings]]`` table (besides source, target and range).
TRANSFORM_KEYS = (
    "input_range", "curve", "curve_amount", "invert", "deadzone", "deadzone_at", "attack", "release",
    "quantize", "button", "encoder", "sensitivity", "combine", "bits",
)
CURVE_AMOUNT_RANGE = (0.1, 20.0)
DEADZONE_RANGE = (0.0, 0.9)
SMOOTHING_RANGE = (0.0, 60.0)  # seconds
SENSITIVITY_RANGE = (1e-4, 1.0)  # fraction of the full range per encoder step
DEFAULT_SENSITIVITY = 1.0 / 128.0


class TransformError(ValueError):
    """A transform option that cannot be used. `key` names the option; the message says why."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


@dataclass(frozen=True)
class TransformSpec:
    """The validated transform options of one mapping (defaults: a plain 0..1 pass-through)."""

    input_range: tuple[float, float] = (0.0, 1.0)
    curve: str = "linear"
    curve_amount: float = 3.0
    invert: bool = False
    deadzone: float = 0.0
    deadzone_at: str = "low"
    attack: float = 0.0
    release: float = 0.0
    quantize: str | None = None
    button: str | None = None
    encoder: str | None = None
    sensitivity: float = DEFAULT_SENSITIVITY
    combine: str = "sum"
    bits: int = 7

    @property
    def stateful(self) -> bool:
        """Whether the chain keeps state between frames (smoothing, buttons, quantize, encoder)."""
        return bool(self.attack or self.release or self.quantize or self.button or self.encoder)


@dataclass(frozen=True)
class FrameTime:
    """What the stateful steps need to know about the current frame.

    Attributes:
        dt: seconds since the previous frame (0 on the first).
        beat: the BeatClock's continuous beat count at this frame.
        beats_per_bar: the BeatClock's bar length.
    """

    dt: float = 0.0
    beat: float = 0.0
    beats_per_bar: int = 4


# --------------------------------------------------------------------------------------------
# Pure functions


def decode_relative(value: int, mode: str) -> int:
    """Signed detent steps encoded in one 7-bit relative-encoder CC value. Any thread.

    - ``twos_complement``: 1..63 are +1..+63, 64..127 are -64..-1 (127 is one step down).
    - ``sign_magnitude``: bit 6 is the sign (set: down), bits 0-5 the number of steps.
    - ``binary_offset``: 64 is no change, 65 is +1, 63 is -1 (value - 64).

    Raises:
        ValueError: `value` outside 0..127 or an unknown `mode`.
    """
    if not 0 <= value <= 127:
        raise ValueError(f"a 7-bit CC value is 0..127, got {value!r}")
    if mode == "twos_complement":
        return value - 128 if value >= 64 else value
    if mode == "sign_magnitude":
        return -(value & 0x3F) if value & 0x40 else value & 0x3F
    if mode == "binary_offset":
        return value - 64
    raise ValueError(f"unknown encoder mode {mode!r}; allowed: {', '.join(ENCODER_MODES)}")


def curve_function(curve: str, amount: float = 3.0) -> Callable[[float], float]:
    """The shaping function of a curve: maps 0..1 onto 0..1 with f(0) = 0 and f(1) = 1.

    ``exp`` is (e^(k x) - 1) / (e^k - 1), ``log`` its inverse, ``s-curve`` a tanh centred on
    0.5, all with k = `amount`. Any thread.
    """
    k = float(amount)
    if curve == "linear":
        return lambda x: x
    if curve == "exp":
        denom = math.expm1(k)
        return lambda x: math.expm1(k * x) / denom
    if curve == "log":
        scale = math.expm1(k)
        return lambda x: math.log1p(x * scale) / k
    if curve == "s-curve":
        half = math.tanh(k / 2.0)
        return lambda x: 0.5 + 0.5 * math.tanh(k * (x - 0.5)) / half
    raise ValueError(f"unknown curve {curve!r}; allowed: {', '.join(CURVES)}")


def combine(mode: str, values: list[float]) -> float:
    """Combine the contributions of several mappings into one target value. Any thread."""
    if mode == "sum":
        return math.fsum(values)
    if mode == "max":
        return max(values)
    if mode == "multiply":
        return math.prod(values)
    raise ValueError(f"unknown combine mode {mode!r}; allowed: {', '.join(COMBINE_MODES)}")


# --------------------------------------------------------------------------------------------
# Compiling a chain into one per-frame function

Step = Callable[[float, FrameTime], float]


def _clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else min(x, 1.0)


def _input_range_step(lo: float, hi: float) -> Step:
    span = hi - lo
    if span == 0.0:
        return lambda x, ft: 1.0 if x >= hi else 0.0
    return lambda x, ft: _clamp01((x - lo) / span)


def _encoder_step(sensitivity: float) -> Step:
    position = 0.0

    def step(steps: float, ft: FrameTime) -> float:
        nonlocal position
        position = _clamp01(position + steps * sensitivity)
        return position

    return step


def _button_step(mode: str) -> Step:
    held = False
    state = 0.0

    def step(x: float, ft: FrameTime) -> float:
        nonlocal held, state
        pressed = x > 0.0
        edge = pressed and not held
        held = pressed
        if mode == "momentary":
            return 1.0 if pressed else 0.0
        if mode == "toggle":
            if edge:
                state = 0.0 if state >= 0.5 else 1.0
            return state
        return 1.0 if edge else 0.0  # trigger

    return step


def _deadzone_step(d: float, at: str) -> Step:
    scale = 1.0 / (1.0 - d)
    if at == "center":
        half = 0.5 * d

        def centred(x: float, ft: FrameTime) -> float:
            offset = x - 0.5
            if abs(offset) <= half:
                return 0.5
            return 0.5 + math.copysign((abs(offset) - half) * scale, offset)

        return centred
    return lambda x, ft: 0.0 if x <= d else (x - d) * scale


def _curve_step(curve: str, amount: float) -> Step:
    f = curve_function(curve, amount)
    return lambda x, ft: _clamp01(f(x))


def _quantize_step(unit: str, trigger: bool) -> Step:
    """Hold the output until the next beat/bar boundary; triggers are latched and fire there."""
    current: float | None = None
    pending: float | None = None
    fire = False
    last_index: int | None = None

    def index_of(ft: FrameTime) -> int:
        length = 1 if unit == "beat" else max(1, ft.beats_per_bar)
        return math.floor(ft.beat / length)

    def step(x: float, ft: FrameTime) -> float:
        nonlocal current, pending, fire, last_index
        index = index_of(ft)
        crossed = last_index is not None and index > last_index
        last_index = index if last_index is None else max(last_index, index)
        if trigger:
            if x > 0.0:
                fire = True
            if crossed and fire:
                fire = False
                return 1.0
            return 0.0
        if current is None:
            current = x  # the first value is taken as it is: nothing to wait for yet
        elif x != current:
            pending = x
        else:
            pending = None
        if crossed and pending is not None:
            current, pending = pending, None
        return current

    return step


def _smooth_step(attack: float, release: float) -> Step:
    y: float | None = None

    def step(x: float, ft: FrameTime) -> float:
        nonlocal y
        if y is None:
            y = x
            return y
        tau = attack if x > y else release
        if tau <= 0.0:
            y = x
        elif ft.dt > 0.0:
            y += (x - y) * -math.expm1(-ft.dt / tau)
        return y

    return step


def compile_chain(spec: TransformSpec, lo: float = 0.0, hi: float = 1.0) -> Step:
    """Build the per-frame function of a mapping: source value -> target value.

    The returned function keeps its own state (one per mapping) and must be called once per
    frame with that frame's `FrameTime`. A non-finite source value counts as 0. Render thread.
    """
    steps: list[Step] = []
    if spec.encoder is not None:
        steps.append(_encoder_step(spec.sensitivity))
    else:
        steps.append(_input_range_step(*spec.input_range))
    if spec.button is not None:
        steps.append(_button_step(spec.button))
    if spec.deadzone > 0.0:
        steps.append(_deadzone_step(spec.deadzone, spec.deadzone_at))
    if spec.curve != "linear":
        steps.append(_curve_step(spec.curve, spec.curve_amount))
    if spec.invert:
        steps.append(lambda x, ft: 1.0 - x)
    if spec.quantize is not None:
        steps.append(_quantize_step(spec.quantize, spec.button == "trigger"))
    if spec.attack > 0.0 or spec.release > 0.0:
        steps.append(_smooth_step(spec.attack, spec.release))
    span = hi - lo
    chain = tuple(steps)

    def run(x: float, ft: FrameTime) -> float:
        if not math.isfinite(x):
            x = 0.0
        for step in chain:
            x = step(x, ft)
        return lo + x * span

    return run


# --------------------------------------------------------------------------------------------
# Reading options from a file table


def _number(table: Mapping[str, Any], key: str, lo: float, hi: float, default: float,
            unit: str = "") -> float:
    if key not in table:
        return default
    value = table[key]
    if not is_finite_number(value) or not lo <= value <= hi:
        raise TransformError(key, f"expected a number from {lo:g} to {hi:g}{unit}, got {describe_value(value)}")
    return float(value)


def _choice(table: Mapping[str, Any], key: str, choices: tuple, what: str, default=None):
    if key not in table:
        return default
    value = table[key]
    if value not in choices:
        from live.scene import (
            did_you_mean,  # late import: live.scene imports this module
        )

        hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else ""
        shown = repr(value) if isinstance(value, str) else describe_value(value)
        raise TransformError(key, f"unknown {what} {shown}{hint}; allowed: "
                                  f"{', '.join(str(c) for c in choices)}")
    return value


def parse_transform(table: Mapping[str, Any], source: str | None = None) -> TransformSpec:
    """Check the transform options of a mapping table and return them as a `TransformSpec`.

    Only `TRANSFORM_KEYS` are read; the caller checks for unknown keys. `source` (the mapping's
    source name) lets options that only make sense for MIDI CC sources (``encoder``,
    ``bits = 14``) be checked against it. Any thread.

    Raises:
        TransformError: naming the option and what is allowed.
    """
    out: dict[str, Any] = {}
    if "input_range" in table:
        value = table["input_range"]
        if not (isinstance(value, list) and len(value) == 2 and all(is_finite_number(v) for v in value)):
            raise TransformError("input_range", "expected [lo, hi], two finite numbers: the source "
                                 f"values that map to 0 and 1, got {describe_value(value)}")
        out["input_range"] = (float(value[0]), float(value[1]))
    out["curve"] = _choice(table, "curve", CURVES, "curve", "linear")
    out["curve_amount"] = _number(table, "curve_amount", *CURVE_AMOUNT_RANGE, 3.0)
    if "invert" in table:
        if not isinstance(table["invert"], bool):
            raise TransformError("invert", f"expected true or false, got {describe_value(table['invert'])}")
        out["invert"] = table["invert"]
    out["deadzone"] = _number(table, "deadzone", *DEADZONE_RANGE, 0.0)
    out["deadzone_at"] = _choice(table, "deadzone_at", DEADZONE_PLACES, "deadzone place", "low")
    if "deadzone_at" in table and "deadzone" not in table:
        raise TransformError("deadzone_at", "says where the deadzone sits, but no deadzone width "
                                            "is given; add deadzone = 0.05 (for example)")
    out["attack"] = _number(table, "attack", *SMOOTHING_RANGE, 0.0, " seconds")
    out["release"] = _number(table, "release", *SMOOTHING_RANGE, 0.0, " seconds")
    out["quantize"] = _choice(table, "quantize", QUANTIZE_MODES, "quantize unit")
    out["button"] = _choice(table, "button", BUTTON_MODES, "button mode")
    out["encoder"] = _choice(table, "encoder", ENCODER_MODES, "encoder mode")
    out["sensitivity"] = _number(table, "sensitivity", *SENSITIVITY_RANGE, DEFAULT_SENSITIVITY,
                                 " (fraction of the range per encoder step)")
    out["combine"] = _choice(table, "combine", COMBINE_MODES, "combine mode", "sum")
    out["bits"] = _choice(table, "bits", CC_BITS, "CC resolution", 7)
    if "sensitivity" in table and out["encoder"] is None:
        raise TransformError("sensitivity", "only relative encoders use a sensitivity; add "
                             f"encoder = one of {', '.join(ENCODER_MODES)}")
    if out["encoder"] is not None:
        if out["button"] is not None:
            raise TransformError("button", "a relative encoder cannot also be a button")
        if "input_range" in out:
            raise TransformError("input_range", "a relative encoder counts steps: set its "
                                 "sensitivity instead of an input range")
    cc = _cc_number(source) if source is not None else None
    if out["encoder"] is not None and source is not None and cc is None:
        raise TransformError("encoder", f"relative encoders are MIDI controllers: the source must "
                             f"be midi.cc.<ch>.<cc> (or midi.<port>.cc.<ch>.<cc>), not '{source}'")
    if out["bits"] == 14:
        if source is not None and cc is None:
            raise TransformError("bits", "14-bit values come from MIDI controllers: the source "
                                 f"must be midi.cc.<ch>.<cc>, not '{source}'")
        if cc is not None and cc >= 32:
            raise TransformError("bits", f"a 14-bit controller sends its MSB on CC 0-31 and the "
                                 f"LSB on CC n + 32; CC {cc} cannot be the MSB")
        if out["encoder"] is not None:
            raise TransformError("bits", "a relative encoder sends 7-bit steps; remove bits = 14")
    return TransformSpec(**out)


def _cc_number(source: str) -> int | None:
    """The controller number of a ``midi.[<port>.]cc.<ch>.<cc>`` source, else None."""
    parts = source.split(".")
    if parts[0] != "midi" or len(parts) not in (4, 5) or parts[-3] != "cc":
        return None
    try:
        return int(parts[-1])
    except ValueError:
        return None
