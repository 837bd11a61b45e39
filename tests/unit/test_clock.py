"""Clocks and musical time: ManualClock, WallClock, BeatClock."""

from __future__ import annotations

import dataclasses
import math

import pytest

from live.clock import BeatClock, BeatState, Clock, ManualClock, WallClock


# ----------------------------------------------------------------------------- plain clocks
def test_manual_clock_moves_only_when_told():
    clock = ManualClock(start=1.5)
    assert clock.now() == 1.5
    assert clock.now() == 1.5
    assert clock.advance(0.25) == 1.75
    clock.set(0.5)  # jumping backwards is allowed with set()
    assert clock.now() == 0.5


@pytest.mark.parametrize("dt", [-0.1, math.nan, math.inf])
def test_manual_clock_rejects_bad_steps(dt):
    with pytest.raises(ValueError, match="dt"):
        ManualClock().advance(dt)


def test_wall_clock_counts_from_construction_with_injected_source():
    now = [100.0]
    clock = WallClock(time_source=lambda: now[0])
    assert clock.now() == 0.0
    now[0] = 102.5
    assert clock.now() == pytest.approx(2.5)


def test_wall_clock_default_source_is_monotonic_and_starts_near_zero():
    clock = WallClock()
    a = clock.now()
    b = clock.now()
    assert 0.0 <= a <= b < 5.0


def test_clocks_satisfy_the_protocol():
    assert isinstance(ManualClock(), Clock)
    assert isinstance(WallClock(), Clock)


# ----------------------------------------------------------------------------- BeatClock basics
def test_beat_count_from_origin():
    bc = BeatClock(bpm=120, origin=10.0)
    assert bc.beat_at(10.0) == 0.0
    assert bc.beat_at(11.0) == pytest.approx(2.0)
    assert bc.beat_at(9.5) == pytest.approx(-1.0)
    bc.update(12.25)  # 4.5 beats
    assert bc.beat == pytest.approx(4.5)
    assert bc.beat_phase == pytest.approx(0.5)
    assert bc.bar == 1
    assert bc.bar_beat == 1
    assert bc.bar_phase == pytest.approx(0.5 / 4)


def test_bar_positions_in_three_four():
    bc = BeatClock(bpm=60, beats_per_bar=3)
    expected = {0.0: (0, 1), 1.0: (0, 2), 2.5: (0, 3), 3.0: (1, 1), 7.9: (2, 2)}
    for t, (bar, bar_beat) in expected.items():
        bc.update(t)
        assert (bc.bar, bc.bar_beat) == (bar, bar_beat), t


def test_beat_fired_once_per_beat_at_60_fps():
    bc = BeatClock(bpm=128)
    fired, downbeats = [], []
    for frame in range(60 * 30):  # 30 s
        t = frame / 60
        bc.update(t)
        if bc.beat_fired:
            fired.append(t)
        if bc.downbeat_fired:
            downbeats.append(t)
    # 64 beats in 30 s at 128 bpm, beat 0 at t=0 included.
    assert len(fired) == 64
    assert len(downbeats) == 16
    period = 60 / 128
    for k, t in enumerate(fired):
        # Fired on the first frame at or after the beat.
        assert 0.0 <= t - k * period < 1 / 60 + 1e-9
    assert downbeats == fired[::4]


def test_first_update_fires_only_on_a_beat():
    on_beat = BeatClock(bpm=120)
    on_beat.update(0.0)
    assert on_beat.beat_fired and on_beat.downbeat_fired
    mid_beat = BeatClock(bpm=120)
    mid_beat.update(0.2)
    assert not mid_beat.beat_fired


def test_time_going_backwards_is_ignored():
    bc = BeatClock(bpm=120)
    bc.update(1.0)
    bc.update(0.5)
    assert bc.beat == pytest.approx(2.0)
    assert not bc.beat_fired
    bc.update(1.6)
    assert bc.beat == pytest.approx(3.2)
    assert bc.beat_fired


def test_large_jump_fires_one_trigger_and_reports_a_crossed_bar():
    bc = BeatClock(bpm=120)
    bc.update(0.1)
    bc.update(2.2)  # crosses beats 1..4, beat 4 starts bar 1
    assert bc.beat_fired and bc.downbeat_fired
    bc.update(2.4)
    assert not bc.beat_fired


def test_no_drift_after_ten_thousand_beats_at_174_bpm():
    bc = BeatClock(bpm=174)
    clock = ManualClock()
    fps = 60.0
    count = 0
    target_s = 10_000 * 60 / 174 + 0.5 * 60 / 174  # half-way into beat 10,000
    n_frames = int(target_s * fps)
    for _ in range(n_frames):
        clock.advance(1 / fps)
        bc.update(clock.now())
        count += bc.beat_fired
    bc.update(target_s)
    count += bc.beat_fired
    assert math.floor(bc.beat) == 10_000
    assert bc.beat_phase == pytest.approx(0.5, abs=1e-6)
    assert count == 10_000  # beats 1..10,000 (the first frame is after beat 0)
    assert bc.bar == 2500 and bc.bar_beat == 1


# ----------------------------------------------------------------------------- tempo changes
def test_set_tempo_is_phase_continuous():
    bc = BeatClock(bpm=120)
    bc.update(3.3)
    before = bc.beat
    bc.set_tempo(140, t=3.3, source="midi")
    assert bc.beat == pytest.approx(before, abs=1e-12)
    assert bc.bpm == 140
    assert bc.source == "midi"
    bc.update(4.3)
    assert bc.beat == pytest.approx(before + 140 / 60)


@pytest.mark.parametrize("bpm", [19.9, 400.1, 0, -120, math.nan])
def test_set_tempo_rejects_out_of_range(bpm):
    bc = BeatClock()
    with pytest.raises(ValueError, match="20 and 400"):
        bc.set_tempo(bpm, t=0.0)


def test_constructor_validates():
    with pytest.raises(ValueError, match="20 and 400"):
        BeatClock(bpm=10)
    with pytest.raises(ValueError, match="beats_per_bar"):
        BeatClock(beats_per_bar=0)


def test_tap_tempo_uses_median_interval_and_lands_a_beat_on_the_tap():
    bc = BeatClock(bpm=120)
    # Taps at ~100 bpm (0.6 s) with one sloppy tap; the median ignores it.
    taps = [10.0, 10.6, 11.2, 11.95, 12.4, 13.0]
    for t in taps:
        bc.tap(t)
    assert bc.bpm == pytest.approx(100.0)
    assert bc.source == "tap"
    bc.update(13.0)
    assert bc.beat_phase == pytest.approx(0.0, abs=1e-9)
    bc.update(13.0 + 0.6)
    assert bc.beat_phase == pytest.approx(0.0, abs=1e-9)


def test_single_tap_aligns_phase_but_keeps_tempo():
    bc = BeatClock(bpm=120)
    bc.tap(5.1)
    assert bc.bpm == 120
    assert bc.source == "scene"
    assert bc.beat_at(5.1) == pytest.approx(round(bc.beat_at(5.1)))


def test_tap_sequence_resets_after_a_long_gap():
    bc = BeatClock(bpm=120)
    bc.tap(0.0)
    bc.tap(0.5)  # 120 bpm
    bc.tap(10.0)  # gap > 2 s: a new sequence, tempo unchanged
    assert bc.bpm == pytest.approx(120)
    bc.tap(10.75)  # 80 bpm from this sequence alone
    assert bc.bpm == pytest.approx(80)


def test_tap_bounce_is_ignored():
    bc = BeatClock(bpm=120)
    bc.tap(1.0)
    bc.tap(1.02)  # a switch bounce, not a 3000 bpm tempo
    bc.tap(1.5)
    assert bc.bpm == pytest.approx(120)


def test_align_makes_time_a_given_beat_of_the_bar():
    bc = BeatClock(bpm=120)
    bc.update(7.3)  # beat 14.6 (bar 3, beat 3)
    bc.align(7.3, beat_in_bar=1)
    assert bc.beat == pytest.approx(16.0)  # nearest downbeat
    assert bc.bar_beat == 1 and bc.beat_phase == pytest.approx(0.0, abs=1e-9)
    bc.align(7.3, beat_in_bar=3)
    assert bc.bar_beat == 3 and bc.beat_phase == pytest.approx(0.0, abs=1e-9)
    assert bc.bpm == 120
    with pytest.raises(ValueError, match="beat_in_bar"):
        bc.align(7.3, beat_in_bar=5)


def test_align_to_the_one_fires_the_downbeat_next_frame():
    bc = BeatClock(bpm=120)
    bc.update(4.95)  # beat 9.9: beat 9 already fired
    bc.align(4.95, beat_in_bar=1)  # "this is the one": beat 8.0
    bc.update(4.96)
    assert bc.beat_fired and bc.downbeat_fired
    assert bc.bar_beat == 1


def test_small_nudge_back_never_fires_a_beat_twice():
    bc = BeatClock(bpm=120)
    bc.update(0.4)
    fired = 0
    bc.update(0.51)  # just after beat 1
    fired += bc.beat_fired
    bc.nudge(-0.05)  # back before beat 1
    for k in range(1, 10):
        bc.update(0.51 + k * 0.005)
        fired += bc.beat_fired
    assert fired == 1


def test_nudge_shifts_phase_forward():
    bc = BeatClock(bpm=120)
    bc.update(1.0)
    bc.nudge(0.25)
    assert bc.beat == pytest.approx(2.25)


def test_snapshot_is_frozen_and_carries_signal_names():
    bc = BeatClock(bpm=128)
    bc.update(0.0)
    snap = bc.snapshot()
    assert isinstance(snap, BeatState)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.bpm = 100  # type: ignore[misc]
    sig = snap.signals()
    assert sig["tempo.bpm"] == 128
    assert sig["bar.beat"] == 1.0
    assert sig["audio.beat"] == 1.0
    assert set(sig) == {"beat.phase", "bar.phase", "bar.beat", "tempo.bpm", "audio.beat"}
