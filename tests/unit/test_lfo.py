"""LFOs: the shapes, rates in beats, bars and Hz, phase offsets, retriggering, random shapes, and
phase lock to the beat clock over 64 bars with tempo changes (under a manual clock)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from live.clock import BeatClock, ManualClock
from live.modulation.lfo import LfoSpec, implicit_lfo, noise, parse_lfo
from live.modulation.timeline import Duration, SceneTime, TimeSpecError, first_downbeat

FPS = 60.0


def lfo(**table):
    table.setdefault("id", "x")
    return parse_lfo(table).build()


def at(beats: float, bpm: float = 120.0, seconds: float = 0.0, bpb: int = 4) -> SceneTime:
    return SceneTime(t=seconds, dt=0.0, beat=beats, bpm=bpm, beats_per_bar=bpb, origin=0.0,
                     started=0.0)


@pytest.mark.parametrize("shape,values", [
    ("sine", [0.5, 1.0, 0.5, 0.0]),
    ("triangle", [0.0, 0.5, 1.0, 0.5]),
    ("saw_up", [0.0, 0.25, 0.5, 0.75]),
    ("saw_down", [1.0, 0.75, 0.5, 0.25]),
    ("square", [1.0, 1.0, 0.0, 0.0]),
])
def test_shapes_over_one_cycle(shape, values):
    one_bar = lfo(shape=shape, rate="1bar")
    got = [one_bar.value(None, at(beat)) for beat in (0.0, 1.0, 2.0, 3.0)]
    assert got == pytest.approx(values, abs=1e-12)


def test_square_duty_and_phase_offset():
    square = lfo(shape="square", rate="1beat", duty=0.25)
    assert [square.value(None, at(b)) for b in (0.0, 0.2, 0.3, 0.9)] == [1.0, 1.0, 0.0, 0.0]
    shifted = lfo(shape="saw_up", rate="1bar", phase=0.25)
    assert shifted.value(None, at(0.0)) == pytest.approx(0.25)
    assert shifted.value(None, at(3.0)) == pytest.approx(0.0)      # wrapped


@pytest.mark.parametrize("rate,beats", [("1/4beat", 0.25), ("1beat", 1.0), ("2bar", 8.0),
                                        ("3/2bar", 6.0), ("3 beats", 3.0)])
def test_musical_rates_are_cycle_lengths(rate, beats):
    saw = lfo(shape="saw_up", rate=rate)
    assert saw.value(None, at(beats * 0.5)) == pytest.approx(0.5)
    assert saw.value(None, at(beats * 2.25)) == pytest.approx(0.25)


def test_hz_rates_count_seconds_whatever_the_tempo():
    saw = lfo(shape="saw_up", rate="0.5hz")
    for bpm in (90.0, 174.0):
        assert saw.value(None, at(7.0, bpm=bpm, seconds=1.5)) == pytest.approx(0.75)


def test_retrigger_restarts_the_cycle_on_every_bar():
    free = lfo(shape="saw_up", rate="3beat")
    bar = lfo(shape="saw_up", rate="3beat", retrigger="bar")
    beat = lfo(shape="saw_up", rate="1/2beat", retrigger="beat", phase=0.1)
    assert free.value(None, at(4.0)) == pytest.approx(1.0 / 3.0)   # runs across the bar line
    assert bar.value(None, at(4.0)) == pytest.approx(0.0)          # restarts on bar 2
    assert bar.value(None, at(5.5)) == pytest.approx(0.5)
    assert beat.value(None, at(7.0)) == pytest.approx(0.1)
    hz = lfo(shape="saw_up", rate="1hz", retrigger="bar")
    # 120 bpm: bar 2 starts at 2 s; half a beat later (0.25 s) a 1 Hz saw is at 0.25.
    assert hz.value(None, at(4.5, seconds=2.25)) == pytest.approx(0.25)


def test_sample_and_hold_random_holds_one_value_per_cycle():
    rnd = lfo(shape="random", rate="1beat", seed=3)
    within = {rnd.value(None, at(5.0 + f)) for f in (0.0, 0.3, 0.99)}
    assert len(within) == 1
    values = [rnd.value(None, at(float(b))) for b in range(2000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert np.mean(values) == pytest.approx(0.5, abs=0.03)
    assert len(set(values)) > 1990
    # Repeatable: the same seed gives the same sequence; another seed another.
    assert values[:50] == [lfo(shape="random", rate="1beat", seed=3).value(None, at(float(b)))
                           for b in range(50)]
    other = [lfo(shape="random", rate="1beat", seed=4).value(None, at(float(b))) for b in range(50)]
    assert other != values[:50]


def test_smooth_random_glides_between_the_held_values():
    smooth = lfo(shape="smooth_random", rate="1beat", seed=9)
    assert smooth.value(None, at(4.0)) == pytest.approx(noise(9, 4))
    assert smooth.value(None, at(5.0)) == pytest.approx(noise(9, 5))
    frames = [smooth.value(None, at(b)) for b in np.arange(0.0, 32.0, 1.0 / 30.0)]
    assert np.abs(np.diff(frames)).max() < 0.1                     # no jumps at 30 frames a beat


def test_random_lfos_of_a_scene_differ_without_seeds():
    a = parse_lfo({"id": "a", "shape": "random"})
    b = parse_lfo({"id": "b", "shape": "random"})
    assert a.seed != b.seed


def test_lfo_phase_stays_locked_to_the_beat_clock_over_64_bars_with_tempo_changes():
    """A manual clock at 60 fps with jitter; the tempo jumps every few bars. A one-beat saw wraps
    exactly once per beat the clock fires, on the same frame, and a one-bar saw reads the
    clock's own bar phase at every frame."""
    rng = random.Random(8)
    clock = ManualClock(3.7)
    beats = BeatClock(128.0, 4, origin=clock.now())
    beats.update(clock.now())
    origin = first_downbeat(beats.beat, 4)
    per_beat = lfo(shape="saw_up", rate="1beat")
    per_bar = lfo(shape="saw_up", rate="1bar")
    wraps = fired = 0
    previous = None
    worst_bar = worst_beat = 0.0
    next_change = origin + 16.0
    while beats.beat < origin + 64 * 4:
        clock.advance(1.0 / FPS + rng.uniform(-0.002, 0.002))
        beats.update(clock.now())
        if beats.beat >= next_change:
            beats.set_tempo(rng.choice([90.0, 128.0, 174.0, 100.5]), clock.now())
            next_change += rng.choice([3.0, 8.0, 13.5])
        now = SceneTime(t=clock.now(), dt=0.0, beat=beats.beat, bpm=beats.bpm, beats_per_bar=4,
                        origin=origin, started=0.0)
        if now.position < 0:
            continue
        value = per_beat.value(None, now)
        if previous is not None and value < previous:
            wraps += 1
            assert beats.beat_fired, f"the LFO wrapped at beat {beats.beat:.3f} without a beat"
        if beats.beat_fired and previous is not None:
            fired += 1
        previous = value
        worst_beat = max(worst_beat, abs(value - beats.beat_phase))
        worst_bar = max(worst_bar, abs(per_bar.value(None, now) - beats.bar_phase))
    assert wraps == fired and fired >= 64 * 4 - 1
    assert worst_beat < 1e-9 and worst_bar < 1e-9


def test_implicit_lfos_from_mapping_sources():
    spec = implicit_lfo("lfo.sine.1bar")
    assert spec is not None and spec.id == "sine.1bar" and spec.shape == "sine"
    assert spec.rate == Duration(1.0, "bar")
    assert implicit_lfo("lfo.square.4hz").rate == Duration(4.0, "hz")
    assert implicit_lfo("lfo.saw_up.2beat").rate == Duration(2.0, "beat")
    for name in ("lfo.wobble", "lfo.sine.1bars", "lfo.sin.1bar", "lfo.sine.0bar", "lfo.sine.99hz",
                 "env.sine.1bar"):
        assert implicit_lfo(name) is None, name


@pytest.mark.parametrize("table,path,words", [
    ({"shape": "sqare"}, ("shape",), ["unknown LFO shape 'sqare'", "did you mean 'square'?"]),
    ({"rate": "0beat"}, ("rate",), ["longer than zero"]),
    ({"rate": "1/0bar"}, ("rate",), ["divides by zero"]),
    ({"rate": "2 sec"}, ("rate",), ["not allowed here"]),
    ({"rate": 2.0}, ("rate",), ["\"1/4beat\"", "\"0.5hz\""]),
    ({"rate": "100hz"}, ("rate",), ["from 0.001 to 30 Hz"]),
    ({"phase": 1.5}, ("phase",), ["from 0 to 1"]),
    ({"duty": 0.3}, ("duty",), ["for the square shape"]),
    ({"shape": "square", "duty": 1.0}, ("duty",), ["between 0 and 1"]),
    ({"retrigger": "bars"}, ("retrigger",), ["did you mean 'bar'?"]),
    ({"seed": 3}, ("seed",), ["random shapes"]),
    ({"shape": "random", "seed": -1}, ("seed",), ["integer from 0"]),
])
def test_bad_lfos_are_refused_naming_the_key(table, path, words):
    with pytest.raises(TimeSpecError) as info:
        parse_lfo({"id": "x", **table})
    assert info.value.path == path
    for word in words:
        assert word in info.value.message, info.value.message


def test_spec_defaults():
    assert parse_lfo({"id": "w"}) == LfoSpec(id="w", seed=parse_lfo({"id": "w"}).seed)
    assert math.isclose(lfo().value(None, at(0.25)), 1.0)           # sine, one beat
