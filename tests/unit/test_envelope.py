"""ADSR envelopes fired by triggers and gates: segment timing, retriggers without jumps, hold,
velocity, musical times that follow the tempo, frame-rate independence, and bad input."""

from __future__ import annotations

import pytest

from live.modulation.envelope import (
    ATTACK,
    IDLE,
    RELEASE,
    SUSTAIN,
    Envelope,
    parse_envelope,
)
from live.modulation.signals import SignalBus
from live.modulation.timeline import SceneTime, TimeSpecError


class Run:
    """Drive an envelope frame by frame at `fps` on a bus whose trigger the test sets."""

    def __init__(self, fps: float = 100.0, bpm: float = 120.0, **table) -> None:
        table.setdefault("id", "e")
        table.setdefault("trigger", "midi.note.1.36")
        self.env: Envelope = parse_envelope(table).build()
        self.bus = SignalBus()
        self.fps, self.bpm, self.t = fps, bpm, 0.0

    def frame(self, trigger: float | None = None, one_frame: bool = False) -> float:
        name = self.env.spec.trigger
        if trigger is not None:
            if one_frame:
                self.bus.trigger(name)
            else:
                self.bus.set(name, trigger)
        dt = 1.0 / self.fps
        self.t += dt
        now = SceneTime(t=self.t, dt=dt, beat=self.t * self.bpm / 60.0, bpm=self.bpm,
                        beats_per_bar=4, origin=0.0, started=0.0)
        level = self.env.value(self.bus, now)
        self.bus.end_frame()
        return level

    def frames(self, n: int) -> list[float]:
        return [self.frame() for _ in range(n)]


def test_a_one_frame_trigger_plays_attack_then_release():
    run = Run(attack=0.1, decay=0.5, sustain=0.5, release=0.2)
    first = run.frame(1.0, one_frame=True)            # 10 ms into a 100 ms attack
    assert first == pytest.approx(0.1)
    levels = [first, *run.frames(40)]
    assert levels[4] == pytest.approx(0.5)             # 50 ms
    assert levels[9] == pytest.approx(1.0)             # the peak at 100 ms: the attack completes
    assert levels[19] == pytest.approx(0.5)            # the gate closed: 100 ms into the release
    assert levels[29] == 0.0 and run.env.stage == IDLE


def test_a_held_gate_decays_to_sustain_and_releases_when_it_closes():
    run = Run(attack=0.05, decay=0.1, sustain=0.4, release=0.4)
    levels = [run.frame(0.8)] + [run.frame() for _ in range(49)]   # note held for 0.5 s
    assert levels[4] == pytest.approx(1.0)             # peak at 50 ms
    assert levels[9] == pytest.approx(0.7)             # half the decay
    assert levels[14] == pytest.approx(0.4) and levels[49] == pytest.approx(0.4)
    assert run.env.stage == SUSTAIN
    run.bus.set("midi.note.1.36", 0.0)                 # note off
    assert run.frames(20)[-1] == pytest.approx(0.2)    # half way down after 200 ms
    assert run.frames(20)[-1] == 0.0


def test_a_retrigger_rises_from_where_it_is():
    run = Run(attack=0.1, release=1.0)
    run.frame(1.0, one_frame=True)
    run.frames(29)                                     # peak at 0.1 s, then 0.2 s of release
    before = run.env.level
    assert run.env.stage == RELEASE and before == pytest.approx(0.8)
    after = run.frame(1.0, one_frame=True)
    assert run.env.stage == ATTACK and after == pytest.approx(before + 0.1)   # no jump to 0


def test_hold_keeps_the_gate_open_after_a_trigger():
    run = Run(attack=0.0, decay=0.0, sustain=0.6, release=0.1, hold=0.3)
    levels = [run.frame(1.0, one_frame=True), *run.frames(39)]
    assert levels[10] == pytest.approx(0.6) and levels[28] == pytest.approx(0.6)
    assert levels[32] < 0.6 and levels[39] == 0.0


def test_velocity_sets_the_peak():
    run = Run(attack=0.0, decay=0.0, sustain=1.0, velocity=True)
    assert run.frame(0.3) == pytest.approx(0.3)


def test_musical_times_follow_the_tempo():
    for bpm, frames_to_peak in ((120.0, 50), (60.0, 100)):
        run = Run(bpm=bpm, attack="1beat", release=0.1)
        levels = [run.frame(1.0, one_frame=True), *run.frames(frames_to_peak)]
        assert levels[frames_to_peak - 1] == pytest.approx(1.0)
        assert levels[frames_to_peak // 2 - 1] == pytest.approx(0.5)


def test_levels_are_the_same_at_30_and_144_fps():
    def level_at(fps: float, seconds: float) -> float:
        run = Run(fps=fps, attack=0.1, decay=0.2, sustain=0.3, release=0.25)
        run.frame(1.0)
        level = 0.0
        for _ in range(round(seconds * fps) - 1):
            if run.t >= 0.35 - 1e-9:
                run.bus.set("midi.note.1.36", 0.0)
            level = run.frame()
        return level

    for seconds in (0.2, 0.5):
        assert level_at(30.0, seconds) == pytest.approx(level_at(144.0, seconds), abs=0.02)


def test_adopt_continues_a_fading_envelope():
    run = Run(attack=0.0, release=1.0)
    run.frame(1.0, one_frame=True)
    run.frames(30)
    fresh = parse_envelope({"id": "e", "trigger": "midi.note.1.36", "attack": 0.0,
                            "release": 1.0}).build()
    fresh.adopt(run.env)
    assert fresh.level == run.env.level and fresh.stage == RELEASE


@pytest.mark.parametrize("table,path,words", [
    ({}, ("trigger",), ["missing trigger"]),
    ({"trigger": "audio.onset", "attack": -1}, ("attack",), ["out of range"]),
    ({"trigger": "audio.onset", "decay": "1/4 hz"}, ("decay",), ["not allowed here"]),
    ({"trigger": "audio.onset", "release": "soon"}, ("release",), ["like \"1.5s\""]),
    ({"trigger": "audio.onset", "sustain": 2}, ("sustain",), ["from 0 to 1"]),
    ({"trigger": "audio.onset", "threshold": 1.0}, ("threshold",), ["from 0 to 0.999"]),
    ({"trigger": "audio.onset", "velocity": "yes"}, ("velocity",), ["true or false"]),
])
def test_bad_envelopes_are_refused_naming_the_key(table, path, words):
    with pytest.raises(TimeSpecError) as info:
        parse_envelope({"id": "e", **table})
    assert info.value.path == path
    for word in words:
        assert word in info.value.message, info.value.message
