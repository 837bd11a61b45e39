"""Easing curves: how a value travels from one key (or transition state) to the next.

Every easing maps the fraction of a segment that has passed, ``x`` in 0..1, to the fraction of
the change applied. All start at 0 and end at 1 exactly; ``back`` and ``elastic`` overshoot on
the way, ``bounce`` touches the end value several times. Names (`EASING_NAMES`):

- ``linear``: constant speed; ``step``: hold the old value for the whole segment, then jump.
- ``sine``, ``quad``, ``cubic``, ``expo``: gentle to sharp acceleration; ``back``: pulls back
  (or overshoots) about 10 %; ``elastic``: a spring; ``bounce``: a ball landing.
- each of those as ``<name>_in`` (slow start), ``<name>_out`` (slow end) and ``<name>_in_out``
  (slow at both ends), e.g. ``cubic_in_out``.

The formulas are the usual closed forms of these curves, written out from their definitions:
the ``_out`` form is the ``_in`` form mirrored (``1 - f(1 - x)``) and the ``_in_out`` form runs
the ``_in`` form at double speed for the first half and the ``_out`` form for the second.

Any thread: the functions are pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Easing = Callable[[float], float]

#: Overshoot of the ``back`` curves: the in-curve dips to about -0.1 (10 %) before rising.
BACK_OVERSHOOT = 1.70158
#: ``elastic``: 2^-10 of amplitude is left at the end, after about three oscillations.
_ELASTIC_PERIOD = 2.0 * math.pi / 3.0
#: ``bounce``: the landing parabolas (their widths add up to the segment).
_BOUNCE_N = 7.5625
_BOUNCE_D = 2.75


class EasingError(ValueError):
    """An easing name that does not exist; the message lists the names and a close match."""


def _clamp(x: float) -> float:
    return 0.0 if x <= 0.0 else min(1.0, x)


# -- the "in" shapes (slow start); the other forms are derived from these ---------------------

def _sine_in(x: float) -> float:
    return 1.0 - math.cos(x * math.pi / 2.0)


def _quad_in(x: float) -> float:
    return x * x


def _cubic_in(x: float) -> float:
    return x * x * x


def _expo_in(x: float) -> float:
    # 2^(10x - 10) is 1/1024 at x = 0, not 0: pin the start so the curve starts where it should.
    return 0.0 if x <= 0.0 else 2.0 ** (10.0 * x - 10.0)


def _back_in(x: float) -> float:
    c = BACK_OVERSHOOT
    return (c + 1.0) * x * x * x - c * x * x


def _elastic_in(x: float) -> float:
    if x <= 0.0 or x >= 1.0:
        return x
    return -(2.0 ** (10.0 * x - 10.0)) * math.sin((10.0 * x - 10.75) * _ELASTIC_PERIOD)


def _bounce_out(x: float) -> float:
    n, d = _BOUNCE_N, _BOUNCE_D
    if x < 1.0 / d:
        return n * x * x
    if x < 2.0 / d:
        x -= 1.5 / d
        return n * x * x + 0.75
    if x < 2.5 / d:
        x -= 2.25 / d
        return n * x * x + 0.9375
    x -= 2.625 / d
    return n * x * x + 0.984375


def _bounce_in(x: float) -> float:
    return 1.0 - _bounce_out(1.0 - x)


def _out_of(f_in: Easing) -> Easing:
    """The mirror image: fast start, slow end."""
    return lambda x: 1.0 - f_in(1.0 - x)


def _in_out_of(f_in: Easing) -> Easing:
    """The in-curve at double speed up to half way, then its mirror."""
    def f(x: float) -> float:
        if x < 0.5:
            return 0.5 * f_in(2.0 * x)
        return 1.0 - 0.5 * f_in(2.0 - 2.0 * x)
    return f


def linear(x: float) -> float:
    """Constant speed. Any thread."""
    return _clamp(x)


def step(x: float) -> float:
    """Hold the start value for the whole segment and jump at its end. Any thread."""
    return 1.0 if x >= 1.0 else 0.0


_IN_SHAPES: dict[str, Easing] = {
    "sine": _sine_in, "quad": _quad_in, "cubic": _cubic_in, "expo": _expo_in,
    "back": _back_in, "elastic": _elastic_in, "bounce": _bounce_in,
}


def _clamped(f: Easing) -> Easing:
    """`f` holding its end values outside 0..1 (a segment never extrapolates)."""
    return lambda x: f(_clamp(x))


def _build() -> dict[str, Easing]:
    table: dict[str, Easing] = {"linear": linear, "step": step}
    for name, f_in in _IN_SHAPES.items():
        # bounce_out is the primary shape (bounce_in is its mirror); mirroring twice would only
        # add rounding, so use it directly.
        f_out = _bounce_out if name == "bounce" else _out_of(f_in)
        for suffix, f in (("in", f_in), ("out", f_out), ("in_out", _in_out_of(f_in))):
            table[f"{name}_{suffix}"] = _clamped(f)
    return table


#: Every easing by name.
EASINGS: dict[str, Easing] = _build()
#: The names a scene may use, in documentation order.
EASING_NAMES: tuple[str, ...] = tuple(EASINGS)


def get_easing(name: str) -> Easing:
    """The easing function called `name`. Any thread.

    Raises:
        EasingError: unknown name, with a "did you mean" hint and the list of names.
    """
    f = EASINGS.get(name) if isinstance(name, str) else None
    if f is None:
        from live.scene import (
            did_you_mean,  # late import: live.scene imports the modulation models
        )

        hint = did_you_mean(name, EASING_NAMES) if isinstance(name, str) else ""
        raise EasingError(f"unknown easing {name!r}{hint}; allowed: {', '.join(EASING_NAMES)}")
    return f


def ease(name: str, x: float) -> float:
    """`get_easing(name)(x)`: the eased fraction of `x` in 0..1. Any thread."""
    return get_easing(name)(x)
