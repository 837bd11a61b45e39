"""Easing curves: every name starts at 0 and ends at 1, the three forms of each shape relate as
their names say, and the shapes do what a scene author expects (dip, overshoot, bounce)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from live.modulation.easing import EASING_NAMES, EASINGS, EasingError, ease, get_easing

SHAPES = ("sine", "quad", "cubic", "expo", "back", "elastic", "bounce")
GRID = np.linspace(0.0, 1.0, 401)


def curve(name: str) -> np.ndarray:
    f = get_easing(name)
    return np.array([f(float(x)) for x in GRID])


def test_the_names_are_linear_step_and_three_forms_of_each_shape():
    expected = {"linear", "step"} | {f"{s}_{form}" for s in SHAPES for form in ("in", "out", "in_out")}
    assert set(EASING_NAMES) == expected and len(EASING_NAMES) == 23
    assert set(EASINGS) == expected


@pytest.mark.parametrize("name", EASING_NAMES)
def test_every_easing_starts_at_0_and_ends_at_1(name):
    f = get_easing(name)
    assert f(0.0) == pytest.approx(0.0, abs=1e-12)
    assert f(1.0) == pytest.approx(1.0, abs=1e-12)
    # Outside the segment the value is held, not extrapolated.
    assert f(-0.5) == f(0.0) and f(1.5) == f(1.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_out_is_the_mirror_of_in_and_in_out_is_symmetric(shape):
    f_in, f_out, f_in_out = (get_easing(f"{shape}_{form}") for form in ("in", "out", "in_out"))
    for x in GRID:
        x = float(x)
        assert f_out(x) == pytest.approx(1.0 - f_in(1.0 - x), abs=1e-9)
        assert f_in_out(x) + f_in_out(1.0 - x) == pytest.approx(1.0, abs=1e-9)
    assert f_in_out(0.5) == pytest.approx(0.5, abs=1e-12)
    # The first half of in_out is the in-curve at double speed, squeezed into 0..0.5.
    assert f_in_out(0.2) == pytest.approx(0.5 * f_in(0.4), abs=1e-12)


@pytest.mark.parametrize("name,x,value", [
    ("linear", 0.3, 0.3),
    ("quad_in", 0.5, 0.25),
    ("quad_out", 0.5, 0.75),
    ("cubic_in", 0.5, 0.125),
    ("cubic_out", 0.5, 0.875),
    ("cubic_in_out", 0.25, 0.0625),      # 0.5 * (2 * 0.25) ** 3
    ("sine_in", 0.5, 1.0 - math.cos(math.pi / 4.0)),
    ("sine_out", 1.0 / 3.0, 0.5),        # sin(pi / 6)
    ("expo_in", 0.5, 2.0 ** -5),
    ("expo_out", 0.9, 1.0 - 2.0 ** -9),
    ("bounce_out", 1.0 / 2.75, 1.0),     # the first landing touches the end value
])
def test_known_values(name, x, value):
    assert ease(name, x) == pytest.approx(value, abs=1e-12)


def test_step_holds_until_the_end_of_the_segment():
    values = curve("step")
    assert (values[:-1] == 0.0).all() and values[-1] == 1.0


@pytest.mark.parametrize("name", [f"{s}_{form}" for s in ("sine", "quad", "cubic", "expo")
                                  for form in ("in", "out", "in_out")] + ["linear"])
def test_plain_curves_rise_steadily_within_0_and_1(name):
    values = curve(name)
    assert (np.diff(values) >= -1e-12).all()
    assert values.min() >= 0.0 and values.max() <= 1.0


def test_back_dips_before_and_overshoots_after_by_about_ten_percent():
    assert curve("back_in").min() == pytest.approx(-0.1, abs=0.005)
    assert curve("back_out").max() == pytest.approx(1.1, abs=0.005)
    values = curve("back_in_out")
    assert values.min() < -0.04 and values.max() > 1.04


def test_elastic_springs_past_the_end_and_settles():
    out = curve("elastic_out")
    assert out.max() > 1.2                                   # the first swing
    assert np.abs(out[GRID >= 0.8] - 1.0).max() < 0.02        # settled near the end
    crossings = np.count_nonzero(np.diff(np.sign(out[1:] - 1.0)) != 0)
    assert crossings >= 4                                    # it oscillates, not just overshoots


def test_bounce_stays_inside_and_lands_several_times():
    out = curve("bounce_out")
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-12
    # Local minima between landings: the ball leaves the floor (value 1) and comes back.
    minima = [i for i in range(1, len(out) - 1) if out[i] < out[i - 1] and out[i] <= out[i + 1]]
    assert len(minima) == 3


def test_unknown_names_are_refused_with_a_suggestion_and_the_list():
    with pytest.raises(EasingError) as info:
        get_easing("cubic_inout")
    text = str(info.value)
    assert "did you mean 'cubic_in_out'?" in text and "bounce_in_out" in text and "linear" in text
    with pytest.raises(EasingError, match="did you mean 'linear'"):
        get_easing("Linear")
    with pytest.raises(EasingError, match="unknown easing 3"):
        get_easing(3)  # type: ignore[arg-type]
