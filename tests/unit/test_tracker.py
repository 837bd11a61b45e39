"""The causal beat tracker and the beat clock driver, on signals whose beats are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from live.audio.analysis import AudioAnalysis, analyse_samples
from live.audio.synthetic import click_train
from live.audio.tracker import (
    AUDIO_SOURCE,
    BeatClockDriver,
    BeatTracker,
    TrackerConfig,
    TrackerState,
)
from live.clock import BeatClock

SR = 48000
HOP_S = 512 / SR


def drums(beat_times: np.ndarray, seconds: float, seed: int = 0) -> np.ndarray:
    """A kick on every given beat time, a hat half way to the next one, over a soft 55 Hz bass.

    House-style: the off-beat hats are louder in onset strength than the kicks.
    """
    n = int(seconds * SR)
    out = 0.15 * np.sin(2 * np.pi * 55.0 * np.arange(n) / SR)
    k = np.arange(int(0.25 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-k * 30)) * k) * np.exp(-k * 12)
    rng = np.random.default_rng(seed)
    h = np.arange(int(0.05 * SR)) / SR
    hat = np.diff(rng.uniform(-1, 1, len(h)) * np.exp(-h * 80), prepend=0.0)
    times = list(beat_times)
    nexts = times[1:] + [times[-1] + (times[-1] - times[-2])]
    for t, t_next in zip(times, nexts):
        for start, sound, gain in ((t, kick, 0.8), ((t + t_next) / 2, hat, 0.3)):
            i = int(round(start * SR))
            if i < n:
                seg = out[i:i + len(sound)]
                seg += gain * sound[: len(seg)]
    return np.clip(out, -1, 1).astype(np.float32)


def errors(estimate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Signed distance (s) of each estimated beat to its nearest reference beat."""
    return np.array([t - reference[np.argmin(np.abs(reference - t))] for t in estimate])


# ----------------------------------------------------------------------------- locking
@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_click_trains_give_their_tempo_and_beats(bpm):
    x = click_train(bpm, 12.0)
    result = analyse_samples(x)
    period = 60.0 / bpm
    reference = np.arange(0.0, 12.0 + period, period)  # the clicks, and the beat after them
    est = result.beat_times
    assert len(est) > 0 and est[0] < 2.5, "locks within about two seconds"
    late = est[est > 3.0]
    err = errors(late, reference)
    assert np.median(np.abs(err)) < 0.010 and np.abs(err).max() < 0.025
    assert len(late) == pytest.approx(np.sum(reference > 3.0) - 1, abs=1)  # one beat per beat
    assert result.tempo_curve[-1][1] == pytest.approx(bpm, rel=0.01)


def test_house_beat_is_on_the_kick_not_the_louder_off_beat_hat():
    reference = np.arange(0.0, 16.0, 0.5)
    est = analyse_samples(drums(reference, 16.0)).beat_times
    err = errors(est[est > 4.0], reference)
    assert np.median(np.abs(err)) < 0.015


def test_beats_are_fired_before_the_audio_reaches_them():
    analysis = AudioAnalysis()
    seen = []
    analysis.add_hop_callback(lambda hop, bands, fired: seen.extend((hop.time, b.time) for b in fired))
    x = click_train(120.0, 8.0)
    for i in range(0, len(x), 256):
        analysis.feed(x[i:i + 256])
    assert len(seen) > 10
    for hop_end, beat_time in seen:
        # Committed at most one hop ahead, and never after the fact.
        assert hop_end < beat_time <= hop_end + HOP_S + 1e-9


def test_the_same_beats_whatever_the_block_size():
    x = drums(np.arange(0.0, 8.0, 0.5), 8.0)
    a = analyse_samples(x, block=256).beat_times
    b = analyse_samples(x, block=1031).beat_times
    c = analyse_samples(x, block=len(x)).beat_times
    assert len(a) > 8
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


# ----------------------------------------------------------------------------- tempo changes
def test_tempo_step_120_to_128_relocks():
    first = np.arange(0.0, 16.0, 0.5)
    second = 16.0 + np.arange(0.0, 14.0, 60.0 / 128.0)
    reference = np.concatenate([first, second])
    result = analyse_samples(drums(reference, 30.0))
    est = result.beat_times
    after = est[est > 16.0]
    good = np.abs(errors(after, reference)) < 0.035
    # Re-locked: from some beat within 8 s of the step on, every beat lands within 35 ms.
    first_good_run = next(i for i in range(len(good)) if good[i:].all())
    assert after[first_good_run] - 16.0 < 8.0
    assert result.tempo_curve[-1][1] == pytest.approx(128.0, rel=0.01)


def test_tempo_ramp_is_followed():
    times, t = [0.0], 0.0
    while t < 30.0:
        bpm = 110.0 + 20.0 * min(t, 20.0) / 20.0  # 110 -> 130 bpm over 20 s, then steady
        t += 60.0 / bpm
        times.append(t)
    reference = np.array(times[:-1])
    result = analyse_samples(drums(reference, 30.0))
    est = result.beat_times
    during = np.abs(errors(est[(est > 6.0) & (est < 20.0)], reference))
    assert np.median(during) < 0.06  # a beat is 460-550 ms: on the beat, lagging a little
    settled = np.abs(errors(est[est > 24.0], reference))
    assert np.median(settled) < 0.02
    assert result.tempo_curve[-1][1] == pytest.approx(130.0, rel=0.01)


# ----------------------------------------------------------------------------- no beat
def test_silence_gives_no_beats_and_no_lock():
    analysis = AudioAnalysis()
    analysis.feed(np.zeros(5 * SR, np.float32))
    state = analysis.state()
    assert not state.locked and state.confidence == 0.0 and state.bpm == 120.0
    assert analysis.drain_beats() == []


def test_noise_gives_a_low_confidence_the_clock_driver_ignores():
    x = (0.2 * np.random.default_rng(5).standard_normal(10 * SR)).astype(np.float32)
    analysis = AudioAnalysis()
    analysis.feed(x)
    assert analysis.state().confidence < 0.12
    clock = BeatClock(128.0)
    assert not analysis.drive(clock, 10.0)
    assert clock.source == "scene" and clock.bpm == 128.0


def test_breakdown_free_runs_on_the_grid_and_the_beat_continues_after_it():
    reference = np.arange(0.0, 30.0, 0.5)
    x = drums(reference, 30.0)
    x[int(12.1 * SR):int(18.0 * SR)] = 0.0  # everything stops after the kick at 12 s
    result = analyse_samples(x)
    est = result.beat_times
    during = est[(est > 12.2) & (est < 18.0)]
    assert len(during) == 11  # 12.5 .. 17.5: the beat keeps going through the silence
    assert np.abs(errors(during, reference)).max() < 0.015
    after = est[(est > 18.0) & (est < 29.5)]
    assert np.abs(errors(after, reference)).max() < 0.015
    confidences = [b.confidence for b in result.beats]
    in_break = [b.confidence for b in result.beats if 15.0 < b.time < 18.0]
    assert max(in_break) < max(confidences)  # it knows it is guessing


def test_non_finite_input_is_ignored():
    tracker = BeatTracker()
    for i in range(400):
        assert tracker.process(math.nan if i % 7 else math.inf, (i + 1) * HOP_S,
                               kick=math.nan) == []
    assert not tracker.state().locked


# ----------------------------------------------------------------------------- seeding, bars
def test_the_seed_tempo_chooses_the_metrical_level():
    # Clicks at 160 bpm are also beats at 80 bpm (every other click): the scene's bpm decides.
    x = click_train(160.0, 10.0)
    slow = analyse_samples(x, seed_bpm=80.0).tempo_curve[-1][1]
    fast = analyse_samples(x, seed_bpm=160.0).tempo_curve[-1][1]
    assert slow == pytest.approx(80.0, rel=0.01)
    assert fast == pytest.approx(160.0, rel=0.01)


def test_bar_positions_follow_the_beat_count():
    state = TrackerState(time=10.0, bpm=120.0, confidence=0.5, locked=True, active=True,
                         next_time=10.25, next_index=21, beats_per_bar=4, downbeat_index=1)
    assert state.beat_at(10.25) == pytest.approx(21.0)
    assert state.beat_phase(10.0) == pytest.approx(0.5)
    assert state.position_of(21) == 1 and state.position_of(22) == 2
    assert state.bar_beat(10.3) == 1 and state.bar_beat(9.9) == 4
    assert state.bar_phase(10.25) == pytest.approx(0.0)
    unknown = TrackerState(10.0, 120.0, 0.5, True, True, 10.25, 21, 4, None)
    assert unknown.position_of(21) == 0 and unknown.bar_phase(10.0) == 0.0


def test_bad_configuration_is_rejected_with_the_field_name():
    with pytest.raises(ValueError, match="pll_gain"):
        TrackerConfig(pll_gain=1.5)
    with pytest.raises(ValueError, match="min_bpm"):
        TrackerConfig(min_bpm=300.0, max_bpm=200.0)
    with pytest.raises(ValueError, match="history_s"):
        TrackerConfig(history_s=0.0)
    with pytest.raises(ValueError, match="seed tempo"):
        BeatTracker(seed_bpm=1000.0)
    with pytest.raises(ValueError, match="beats_per_bar"):
        BeatTracker(beats_per_bar=0)


# ----------------------------------------------------------------------------- the beat clock
def locked_state(t: float, bpm: float = 120.0, next_time: float | None = None,
                 downbeat_index: int | None = None, confidence: float = 0.6) -> TrackerState:
    period = 60.0 / bpm
    nt = next_time if next_time is not None else (math.floor(t / period) + 1) * period
    return TrackerState(t, bpm, confidence, True, True, nt, round(nt / period), 4, downbeat_index)


def test_driver_puts_the_clock_on_the_trackers_beat_with_source_audio():
    clock = BeatClock(100.0)
    driver = BeatClockDriver()
    state = locked_state(3.1, next_time=3.25)  # beats at ... 2.75, 3.25, 3.75
    assert driver.apply(clock, state, 3.1)
    clock.update(3.1)
    assert clock.source == AUDIO_SOURCE and clock.bpm == 120.0
    assert clock.beat_phase == pytest.approx(state.beat_phase(3.1), abs=1e-9)
    fired = []
    for i in range(1, 60):
        t = 3.1 + i / 60.0
        driver.apply(clock, state, t)
        clock.update(t)
        if clock.beat_fired:
            fired.append(t)
    # Frames at 60 fps: each beat fires on the first frame at or after 3.25, 3.75.
    assert fired[:2] == [pytest.approx(3.1 + 9 / 60), pytest.approx(3.1 + 39 / 60)]


def test_visual_offset_fires_the_clock_earlier():
    state = locked_state(3.0, next_time=3.25)
    early = BeatClock(120.0)
    BeatClockDriver(visual_offset_s=-0.05).apply(early, state, 3.1)
    on_time = BeatClock(120.0)
    BeatClockDriver().apply(on_time, state, 3.1)
    # 50 ms at 120 bpm is a tenth of a beat ahead.
    assert early.beat_at(3.1) - on_time.beat_at(3.1) == pytest.approx(0.1, abs=1e-9)


def test_tap_tempo_overrides_the_tracker_until_released():
    clock = BeatClock(120.0)
    driver = BeatClockDriver()
    state = locked_state(1.0, bpm=128.0)
    driver.apply(clock, state, 1.0)
    clock.tap(2.0)
    clock.tap(2.6)  # 100 bpm
    assert clock.source == "tap"
    assert not driver.apply(clock, locked_state(2.7, bpm=128.0), 2.7)
    assert clock.bpm == pytest.approx(100.0)
    driver.release(clock)
    assert driver.apply(clock, locked_state(2.8, bpm=128.0), 2.8)
    assert clock.source == AUDIO_SOURCE and clock.bpm == pytest.approx(128.0)


def test_a_nudge_is_kept_on_top_of_the_trackers_phase():
    clock = BeatClock(120.0)
    driver = BeatClockDriver()
    state = locked_state(1.0, next_time=1.25)
    driver.apply(clock, state, 1.0)
    base = clock.beat_at(1.0)
    clock.nudge(0.05)  # the performer says: the music is a little ahead
    driver.apply(clock, state, 1.01)
    assert clock.beat_at(1.01) - (base + 0.02) == pytest.approx(0.05, abs=1e-9)
    assert driver.user_offset_beats == pytest.approx(0.05)


def test_driver_waits_for_confidence_and_moves_bars_only_forward():
    clock = BeatClock(120.0)
    driver = BeatClockDriver(min_confidence=0.3, align_bars=True)
    assert not driver.apply(clock, locked_state(1.0, confidence=0.1), 1.0)
    assert clock.source == "scene"
    state = locked_state(1.0, next_time=1.25, downbeat_index=3)
    driver.apply(clock, state, 1.0)
    clock.update(1.0)
    before = clock.beat_at(1.0)
    assert clock.bar_beat == state.bar_beat(1.0)
    moved = locked_state(1.0, next_time=1.25, downbeat_index=0)
    driver.apply(clock, moved, 1.0)
    assert clock.beat_at(1.0) >= before  # never backwards: no beat fires twice
    clock.update(1.0)
    assert clock.bar_beat == moved.bar_beat(1.0)


def test_driver_leaves_the_scenes_bars_alone_unless_asked():
    clock = BeatClock(120.0)
    driver = BeatClockDriver()
    driver.apply(clock, locked_state(1.0, next_time=1.25, downbeat_index=3), 1.0)
    clock.update(1.0)
    before = clock.bar_beat
    assert abs(clock.beat_at(1.0) - 2.0) <= 0.5  # the clock's own count, moved by a phase only
    driver.apply(clock, locked_state(1.1, next_time=1.25, downbeat_index=0), 1.1)
    clock.update(1.1)
    assert clock.bar_beat == before  # a new downbeat estimate does not move the bars


def test_driver_rejects_an_unreasonable_offset():
    with pytest.raises(ValueError, match="visual_offset_s"):
        BeatClockDriver(visual_offset_s=5.0)
