"""Transform steps: each one on exact values, frame-rate independence, and option checking."""

from __future__ import annotations

import itertools
import math

import pytest

from live.modulation.transforms import (
    FrameTime,
    TransformError,
    TransformSpec,
    combine,
    compile_chain,
    curve_function,
    decode_relative,
    parse_transform,
)


def run(spec: TransformSpec, values, lo=0.0, hi=1.0, dt=1 / 60, beats=None, bpb=4):
    """Feed `values` frame by frame; return the outputs."""
    chain = compile_chain(spec, lo, hi)
    out = []
    for i, x in enumerate(values):
        beat = beats[i] if beats is not None else 0.0
        out.append(chain(x, FrameTime(dt=dt, beat=beat, beats_per_bar=bpb)))
    return out


def test_plain_chain_scales_into_the_output_range_and_clamps():
    assert run(TransformSpec(), [0.0, 0.25, 1.0, 1.5, -2.0, math.nan], lo=10, hi=20) == [
        10.0, 12.5, 20.0, 20.0, 10.0, 10.0]
    assert run(TransformSpec(), [0.25], lo=1.0, hi=0.0) == [0.75]  # lo > hi inverts


def test_input_range_maps_lo_hi_to_0_1():
    spec = TransformSpec(input_range=(20.0, 200.0))  # e.g. a heart rate in bpm
    assert run(spec, [20.0, 110.0, 200.0, 250.0, 0.0]) == [0.0, 0.5, 1.0, 1.0, 0.0]
    reversed_ = TransformSpec(input_range=(1.0, 0.0))
    assert run(reversed_, [0.0, 0.25, 1.0]) == [1.0, 0.75, 0.0]


@pytest.mark.parametrize(("curve", "x", "want"), [
    ("exp", 0.5, math.expm1(1.5) / math.expm1(3.0)),
    ("log", 0.5, math.log1p(0.5 * math.expm1(3.0)) / 3.0),
    ("s-curve", 0.25, 0.5 + 0.5 * math.tanh(3.0 * -0.25) / math.tanh(1.5)),
])
def test_curves_have_the_documented_formula(curve, x, want):
    assert curve_function(curve)(x) == pytest.approx(want, abs=1e-12)
    assert run(TransformSpec(curve=curve), [x])[0] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("curve", ["linear", "exp", "log", "s-curve"])
@pytest.mark.parametrize("amount", [0.1, 3.0, 20.0])
def test_curves_fix_the_ends_and_are_monotonic(curve, amount):
    f = curve_function(curve, amount)
    assert f(0.0) == pytest.approx(0.0, abs=1e-12) and f(1.0) == pytest.approx(1.0, abs=1e-12)
    xs = [i / 100 for i in range(101)]
    ys = [f(x) for x in xs]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(ys))


def test_exp_and_log_are_inverse_and_bend_the_right_way():
    e, g = curve_function("exp", 4.0), curve_function("log", 4.0)
    assert e(0.5) < 0.5 < g(0.5)
    for x in (0.1, 0.4, 0.9):
        assert g(e(x)) == pytest.approx(x, abs=1e-12)


def test_s_curve_is_symmetric_about_the_centre():
    s = curve_function("s-curve", 5.0)
    assert s(0.5) == pytest.approx(0.5)
    assert s(0.2) == pytest.approx(1.0 - s(0.8))
    assert s(0.2) < 0.2 and s(0.8) > 0.8


def test_invert_and_deadzone():
    assert run(TransformSpec(invert=True), [0.0, 0.3, 1.0]) == [1.0, pytest.approx(0.7), 0.0]
    dz = TransformSpec(deadzone=0.1)
    assert run(dz, [0.0, 0.05, 0.1, 0.55, 1.0]) == [0.0, 0.0, 0.0, pytest.approx(0.5), 1.0]


def test_centre_deadzone_holds_a_bipolar_control_at_exactly_half():
    """A pitch bend let go reads 8191 or 8193 of 16383, not 8192: a 0.1-wide centre zone makes
    those read exactly 0.5, and the ends still reach 0 and 1."""
    dz = TransformSpec(deadzone=0.1, deadzone_at="center")
    bend = [0.0, 8191 / 16383, 0.5, 8193 / 16383, 0.45, 0.55, 0.775, 1.0]
    assert run(dz, bend) == [0.0, 0.5, 0.5, 0.5, 0.5, 0.5, pytest.approx(0.75), 1.0]
    assert run(dz, [0.225]) == [pytest.approx(0.25)]
    mapped = TransformSpec(deadzone=0.1, deadzone_at="center")
    assert run(mapped, [8191 / 16383, 1.0], lo=-1.0, hi=1.0) == [0.0, 1.0]  # a pan: dead centre


def test_momentary_toggle_and_trigger_buttons():
    presses = [0.0, 0.8, 0.8, 0.0, 0.0, 1 / 127, 0.0, 1.0]
    assert run(TransformSpec(button="momentary"), presses) == [0, 1, 1, 0, 0, 1, 0, 1]
    assert run(TransformSpec(button="toggle"), presses) == [0, 1, 1, 1, 1, 0, 0, 1]
    assert run(TransformSpec(button="trigger"), presses) == [0, 1, 0, 0, 0, 1, 0, 1]


def test_button_output_goes_through_the_output_range():
    assert run(TransformSpec(button="toggle"), [1.0, 0.0, 1.0], lo=0.2, hi=0.8) == [
        pytest.approx(0.8), pytest.approx(0.8), pytest.approx(0.2)]


def _step_response(spec: TransformSpec, fps: float, until: float, x_after: float = 1.0):
    """Start at 0, jump to `x_after` at t=0; return {k: y} at t = k/30 s."""
    chain = compile_chain(spec)
    chain(0.0, FrameTime(dt=0.0))
    out, n = {}, round(until * fps)
    for i in range(1, n + 1):
        y = chain(x_after, FrameTime(dt=1.0 / fps))
        if (i * 30) % round(fps) == 0:
            out[i * 30 // round(fps)] = y
    return out


def test_smoothing_is_frame_rate_independent():
    spec = TransformSpec(attack=0.2, release=0.5)
    a30, a150 = _step_response(spec, 30, 1.0), _step_response(spec, 150, 1.0)
    assert a30.keys() == a150.keys()
    assert len(a30) == 30
    for k, y in a30.items():
        assert y == pytest.approx(a150[k], abs=1e-9)
        assert y == pytest.approx(1.0 - math.exp(-(k / 30) / 0.2), abs=1e-9)


def test_attack_and_release_use_their_own_time_constants():
    chain = compile_chain(TransformSpec(attack=0.1, release=1.0))
    chain(0.0, FrameTime())
    up = chain(1.0, FrameTime(dt=0.1))
    assert up == pytest.approx(1.0 - math.exp(-1.0))
    down = chain(0.0, FrameTime(dt=0.1))
    assert down == pytest.approx(up * math.exp(-0.1))
    instant = compile_chain(TransformSpec(attack=0.5))  # no release: falls at once
    instant(1.0, FrameTime())
    assert instant(0.0, FrameTime(dt=0.01)) == 0.0


def test_quantize_to_beat_waits_for_the_next_boundary():
    beats = [0.1, 0.2, 0.5, 0.9, 1.05, 1.2, 1.5, 2.01]
    values = [0.0, 0.0, 1.0, 1.0, 1.0, 0.3, 0.3, 0.3]
    assert run(TransformSpec(quantize="beat"), values, beats=beats) == [
        0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, pytest.approx(0.3)]


def test_quantize_to_bar_uses_the_bar_length():
    beats = [0.5, 1.5, 2.5, 3.5, 4.1, 5.0]
    values = [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert run(TransformSpec(quantize="bar"), values, beats=beats, bpb=4) == [0, 0, 0, 0, 1, 1]
    assert run(TransformSpec(quantize="bar"), values, beats=beats, bpb=3) == [0, 0, 0, 1, 1, 1]


def test_quantized_trigger_fires_once_on_the_boundary():
    spec = TransformSpec(button="trigger", quantize="beat")
    beats = [0.1, 0.3, 0.6, 1.01, 1.2, 1.5, 2.02]
    presses = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert run(spec, presses, beats=beats) == [0, 0, 0, 1, 0, 0, 0]


@pytest.mark.parametrize(("mode", "table"), [
    ("twos_complement", {0: 0, 1: 1, 5: 5, 63: 63, 64: -64, 65: -63, 127: -1}),
    ("sign_magnitude", {0: 0, 1: 1, 63: 63, 64: 0, 65: -1, 70: -6, 127: -63}),
    ("binary_offset", {64: 0, 65: 1, 63: -1, 0: -64, 127: 63}),
])
def test_relative_encoder_decoding(mode, table):
    for raw, steps in table.items():
        assert decode_relative(raw, mode) == steps, (mode, raw)


def test_decoding_rejects_out_of_range_values():
    with pytest.raises(ValueError, match="0..127"):
        decode_relative(128, "twos_complement")
    with pytest.raises(ValueError, match="allowed"):
        decode_relative(1, "gray")


def test_encoder_accumulates_steps_with_sensitivity_and_clamps():
    spec = TransformSpec(encoder="twos_complement", sensitivity=0.1)
    assert run(spec, [3, 0, 2, 10, -4, -20]) == [
        pytest.approx(0.3), pytest.approx(0.3), pytest.approx(0.5), 1.0, pytest.approx(0.6), 0.0]


def test_combine_modes():
    assert combine("sum", [0.25, 0.5]) == 0.75
    assert combine("max", [0.25, 0.5, 0.1]) == 0.5
    assert combine("multiply", [0.5, 0.5]) == 0.25
    with pytest.raises(ValueError):
        combine("avg", [1.0])


def test_parse_transform_reads_every_option():
    spec = parse_transform({
        "input_range": [0, 127], "curve": "s-curve", "curve_amount": 5, "invert": True,
        "deadzone": 0.05, "attack": 0.1, "release": 0.3, "quantize": "bar", "button": "toggle",
        "combine": "max",
    }, "midi.cc.1.7")
    assert spec == TransformSpec(input_range=(0.0, 127.0), curve="s-curve", curve_amount=5.0,
                                 invert=True, deadzone=0.05, attack=0.1, release=0.3,
                                 quantize="bar", button="toggle", combine="max")
    enc = parse_transform({"encoder": "binary_offset", "sensitivity": 0.02}, "midi.apc.cc.2.16")
    assert (enc.encoder, enc.sensitivity) == ("binary_offset", 0.02)
    assert parse_transform({"bits": 14}, "midi.cc.1.7").bits == 14
    assert parse_transform({}) == TransformSpec()


@pytest.mark.parametrize(("table", "source", "key", "words"), [
    ({"curve": "expo"}, None, "curve", ["did you mean 'exp'?", "allowed: linear, exp, log, s-curve"]),
    ({"curve": 3}, None, "curve", ["unknown curve an integer (3)"]),
    ({"deadzone": 0.95}, None, "deadzone", ["from 0 to 0.9"]),
    ({"deadzone": 0.1, "deadzone_at": "middle"}, None, "deadzone_at", ["allowed: low, center"]),
    ({"deadzone_at": "center"}, None, "deadzone_at", ["no deadzone width", "deadzone = 0.05"]),
    ({"attack": -1}, None, "attack", ["from 0 to 60 seconds"]),
    ({"attack": math.inf}, None, "attack", ["from 0 to 60"]),
    ({"invert": "yes"}, None, "invert", ["true or false"]),
    ({"button": "latch"}, None, "button", ["momentary, toggle, trigger"]),
    ({"quantize": "bars"}, None, "quantize", ["did you mean 'bar'?"]),
    ({"combine": "add"}, None, "combine", ["sum, max, multiply"]),
    ({"input_range": [0, 1, 2]}, None, "input_range", ["[lo, hi]"]),
    ({"encoder": "twos"}, None, "encoder", ["twos_complement"]),
    ({"encoder": "binary_offset"}, "audio.bass", "encoder", ["midi.cc.<ch>.<cc>"]),
    ({"encoder": "binary_offset", "button": "toggle"}, None, "button", ["cannot also be a button"]),
    ({"sensitivity": 0.1}, None, "sensitivity", ["only relative encoders"]),
    ({"bits": 14}, "midi.cc.1.40", "bits", ["CC 40 cannot be the MSB"]),
    ({"bits": 14}, "osc./1/fader1", "bits", ["MIDI controllers"]),
    ({"bits": 12}, None, "bits", ["allowed: 7, 14"]),
])
def test_parse_transform_errors_name_the_option(table, source, key, words):
    with pytest.raises(TransformError) as info:
        parse_transform(table, source)
    assert info.value.key == key
    for w in words:
        assert w in str(info.value), str(info.value)
