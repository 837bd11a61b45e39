"""Step sequences: one value per 16th from the scene's bar 1, looping, gliding, on the grid
through tempo changes, and bad input."""

from __future__ import annotations

import pytest

from live.clock import BeatClock, ManualClock
from live.modulation.sequence import parse_sequence
from live.modulation.timeline import Duration, SceneTime, TimeSpecError


def seq(**table):
    table.setdefault("id", "s")
    return parse_sequence(table).build()


def at(position: float, origin: float = 0.0) -> SceneTime:
    return SceneTime(t=0.0, dt=0.0, beat=origin + position, bpm=120.0, beats_per_bar=4,
                     origin=origin, started=0.0)


def test_one_value_per_16th_from_bar_one_looping():
    s = seq(steps=[1, 0, 0.5, 0.25])
    assert [s.value(None, at(q * 0.25 + 0.1)) for q in range(8)] == [1, 0, 0.5, 0.25] * 2
    # Bar 1 of the scene is beat 12 of the clock: step 1 starts there, not at clock beat 0.
    assert s.value(None, at(0.0, origin=12.0)) == 1.0
    assert s.value(None, at(0.3, origin=12.0)) == 0.0
    assert s.value(None, at(-0.25, origin=12.0)) == 0.25    # the pickup plays the last step


def test_a_step_starting_exactly_on_the_frame_plays_on_that_frame():
    s = seq(steps=[0, 1])
    assert s.value(None, at(0.25 - 1e-12)) == 1.0


def test_glide_slides_to_the_next_value_and_wraps():
    s = seq(steps=[0, 1, 0.5], glide=True)
    assert s.value(None, at(0.125)) == pytest.approx(0.5)
    assert s.value(None, at(0.25 + 0.1875)) == pytest.approx(0.625)
    assert s.value(None, at(0.5 + 0.125)) == pytest.approx(0.25)   # 0.5 -> 0 (wraps)


def test_other_step_lengths():
    s = seq(steps=[1, 2, 3], step="1/2beat")
    assert s.spec.step == Duration(0.5, "beat")
    assert [s.value(None, at(p)) for p in (0.1, 0.6, 1.1, 1.6)] == [1, 2, 3, 1]
    bars = seq(steps=[5, 6], step="1bar")
    assert bars.value(None, at(3.9)) == 5 and bars.value(None, at(4.0)) == 6


def test_steps_stay_on_the_grid_through_tempo_changes():
    """Each step starts on the frame on which the beat clock's count crosses its 16th."""
    clock = ManualClock()
    beats = BeatClock(90.0, 4, origin=0.0)
    s = seq(steps=list(range(16)))
    previous, changes = None, 0
    for frame in range(60 * 20):
        clock.advance(1.0 / 60.0)
        beats.update(clock.now())
        if frame == 300:
            beats.set_tempo(174.0, clock.now())
        if frame == 700:
            beats.set_tempo(128.0, clock.now())
        now = SceneTime(t=clock.now(), dt=0.0, beat=beats.beat, bpm=beats.bpm, beats_per_bar=4,
                        origin=0.0, started=0.0)
        value = s.value(None, now)
        # A 16th that starts on this frame's beat count, float noise forgiven, plays now.
        assert value == int(beats.beat * 4 + 1e-9) % 16
        if previous is not None and value != previous:
            changes += 1
        previous = value
    assert changes > 100


@pytest.mark.parametrize("table,path,words", [
    ({}, ("steps",), ["array of 1 to 64 numbers"]),
    ({"steps": []}, ("steps",), ["got 0 values"]),
    ({"steps": list(range(65))}, ("steps",), ["got 65 values"]),
    ({"steps": [1, "x"]}, ("steps", 1), ["expected a number"]),
    ({"steps": [1], "step": "0beat"}, ("step",), ["longer than zero"]),
    ({"steps": [1], "step": 0.25}, ("step",), ["\"1/4beat\""]),
    ({"steps": [1], "step": "1hz"}, ("step",), ["not allowed here"]),
    ({"steps": [1], "glide": 1}, ("glide",), ["true or false"]),
])
def test_bad_sequences_are_refused_naming_the_key(table, path, words):
    with pytest.raises(TimeSpecError) as info:
        parse_sequence({"id": "s", **table})
    assert info.value.path == path
    for word in words:
        assert word in info.value.message, info.value.message
