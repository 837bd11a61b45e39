"""MIDI clock in (bytes through the parser and decoder) and tempo-source arbitration."""

from __future__ import annotations

import logging
import random

import pytest

from live.clock import BeatClock
from live.control.midi import MidiDecoder, MidiParser
from live.control.midi_clock import MidiClockIn
from live.control.tempo import CallableTempoSource, TempoArbiter, TempoReading, wrap
from live.health.registry import PartRegistry
from live.modulation.signals import SignalBus


class Wire:
    """Bytes at given times -> parser -> decoder -> MidiClockIn, as MidiInput.drain does."""

    def __init__(self, clock: MidiClockIn) -> None:
        self.parser = MidiParser()
        self.decoder = MidiDecoder(SignalBus())
        self.decoder.clock_listeners.append(clock.handle)

    def send(self, data, t: float) -> None:
        for msg in self.parser.feed(data):
            self.decoder.handle(msg, t)


def pulses(wire: Wire, bpm: float, start: float, beats: float, jitter: float = 0.0,
           seed: int = 1) -> float:
    """Send 24 ppqn clock for `beats` beats from `start`; returns the time of the last pulse."""
    rng = random.Random(seed)
    step = 60.0 / bpm / 24
    n = round(beats * 24)
    t = start
    for i in range(n):
        t = start + i * step
        wire.send([0xF8], t + rng.uniform(0, jitter))
    return t


@pytest.mark.parametrize("bpm", [90.0, 128.0, 174.0])
def test_tempo_from_24_ppqn(bpm):
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    last = pulses(wire, bpm, 0.01, 4)
    assert clock.bpm == pytest.approx(bpm, rel=1e-9)
    r = clock.reading(last)
    assert r.bpm == pytest.approx(bpm) and r.bars and r.confidence == 1.0
    # 96 pulses after Start: the last pulse is beat 95/24.
    assert r.beat == pytest.approx(95 / 24, abs=1e-9)


def test_jittered_pulses_give_a_steady_tempo_and_phase():
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    step = 60.0 / 128 / 24
    last = pulses(wire, 128.0, 0.0, 8, jitter=0.0053)  # one JACK period of 256 frames at 48 kHz
    assert clock.bpm == pytest.approx(128.0, rel=0.005)
    true_beat = (last / step) / 24
    # The fit sits at the mean delay of the jitter (half a period); the phase error is well
    # below one pulse.
    assert clock.reading(last + 0.0053 / 2).beat == pytest.approx(true_beat, abs=0.02)


def test_no_reading_before_half_a_beat_of_pulses_or_without_start():
    clock = MidiClockIn()
    wire = Wire(clock)
    pulses(wire, 120.0, 0.0, 4)
    assert clock.bpm == pytest.approx(120.0) and clock.reading(2.0) is None  # no Start yet
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    last = pulses(wire, 120.0, 0.0, 0.25)
    assert clock.reading(last) is None


def test_stop_and_silence_make_the_source_step_aside():
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    last = pulses(wire, 120.0, 0.0, 2)
    assert clock.reading(last) is not None
    assert clock.reading(last + 0.6) is None  # no pulse for 0.6 s
    wire.send([0xFC], last + 0.01)
    assert clock.reading(last + 0.01) is None and not clock.running


def test_song_position_and_continue_resume_from_the_pointer():
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    last = pulses(wire, 120.0, 0.0, 2)
    wire.send([0xFC], last + 0.001)
    # SPP 0x0010 = 16 sixteenths = bar 2 beat 1 (beat 4.0); LSB first.
    wire.send([0xF2, 0x10, 0x00], last + 0.002)
    epoch = clock.epoch
    wire.send([0xFB], last + 0.003)
    t = last + 60 / 120 / 24
    wire.send([0xF8], t)
    r = clock.reading(t)
    assert r.beat == pytest.approx(4.0, abs=1e-6) and r.epoch > epoch and r.bars
    assert r.bpm == pytest.approx(120.0, rel=1e-6)  # the tempo fit survived the relocation


def test_a_tempo_change_is_followed_after_half_a_beat():
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    last = pulses(wire, 100.0, 0.0, 4)
    step = 60.0 / 140 / 24
    for i in range(1, 12):
        wire.send([0xF8], last + i * step)
        assert clock.bpm < 110.0  # not yet: a stall looks the same for a few pulses
    wire.send([0xF8], last + 12 * step)  # half a beat at the new tempo: switched
    assert clock.bpm == pytest.approx(140.0, rel=1e-6)


def test_realtime_bytes_inside_other_messages_still_clock():
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    step = 60.0 / 120 / 24
    for i in range(48):
        wire.send([0xB0, 7, 0xF8, 64] if i % 2 else [0xF8], i * step)
    assert clock.bpm == pytest.approx(120.0)


# ------------------------------------------------------------------------------------------------
# Arbitration


class Fixed:
    """A tempo source with a settable reading."""

    def __init__(self, name, bpm=None, phase0=0.0, bars=False, confidence=1.0):
        self.name, self.bpm, self.phase0, self.bars, self.confidence = name, bpm, phase0, bars, confidence
        self.epoch = 0
        self.proposed = []

    def reading(self, t):
        if self.bpm is None:
            return None
        return TempoReading(self.bpm, self.phase0 + t * self.bpm / 60, t, self.confidence,
                            self.bars, self.epoch)

    def propose_tempo(self, bpm):
        self.proposed.append(bpm)


def run_frames(arb, clock, t0, t1, fps=60.0, bus=None):
    t = t0
    while t < t1 - 1e-9:
        t += 1 / fps
        clock.update(t)
        arb.update(clock, t, bus)
    return t


def test_priority_midi_clock_then_link_then_audio():
    midi, link, audio = Fixed("midi_clock"), Fixed("link"), Fixed("audio", 100.0)
    arb = TempoArbiter([audio, link, midi])
    clock = BeatClock(120.0)
    bus = SignalBus()
    run_frames(arb, clock, 0.0, 0.5, bus=bus)
    assert arb.leader == "audio" and clock.source == "audio" and clock.bpm == 100.0
    link.bpm = 130.0
    run_frames(arb, clock, 0.5, 1.0, bus=bus)
    assert arb.leader == "link" and clock.bpm == 130.0
    midi.bpm = 90.0
    run_frames(arb, clock, 1.0, 1.5, bus=bus)
    assert arb.leader == "midi_clock" and clock.bpm == 90.0
    assert bus.get("tempo.source.midi_clock") == 1.0 and bus.get("tempo.source.link") == 0.0


def test_a_higher_priority_source_appearing_snaps_to_its_bar():
    link = Fixed("link", 120.0, phase0=2.5, bars=True)  # the session is half a beat into beat 3
    arb = TempoArbiter([link])
    clock = BeatClock(120.0)
    t = run_frames(arb, clock, 0.0, 1 / 60)
    assert clock.beat_at(t) % 4 == pytest.approx(link.reading(t).beat % 4, abs=1e-9)


def test_a_vanishing_leader_hands_over_without_a_phase_jump():
    link = Fixed("link", 120.0, bars=True)
    audio = Fixed("audio", 124.0, phase0=0.4)  # disagrees with Link by 0.4 beat and in tempo
    arb = TempoArbiter([link, audio])
    clock = BeatClock(120.0)
    t = run_frames(arb, clock, 0.0, 1.0)
    assert arb.leader == "link"
    link.bpm = None  # Link session gone
    beats, prev = [], clock.beat
    for _ in range(240):
        t += 1 / 60
        clock.update(t)
        arb.update(clock, t)
        beats.append(clock.beat - prev)
        prev = clock.beat
    assert arb.leader == "audio"
    # Per-frame beat increments never deviate from the tempo by more than MAX_RATE (10 %).
    nominal = [b * 60 * 60 for b in beats]  # beats per frame -> bpm
    assert max(abs(n - 124.0) for n in nominal[1:]) <= 124.0 * 0.1 + 1e-6
    assert wrap(audio.reading(t).beat - clock.beat_at(t), 1.0) == pytest.approx(0.0, abs=0.01)


def test_free_running_keeps_tempo_and_phase_when_every_source_is_gone():
    link = Fixed("link", 133.0, bars=True)
    arb = TempoArbiter([link])
    clock = BeatClock(120.0)
    t = run_frames(arb, clock, 0.0, 0.5)
    before = clock.beat_at(t)
    link.bpm = None
    t2 = run_frames(arb, clock, t, t + 0.5)
    assert arb.leader == "free" and clock.source == "free" and clock.bpm == 133.0
    assert clock.beat_at(t2) == pytest.approx(before + 0.5 * 133 / 60, abs=1e-9)


def test_absurd_tempo_is_ignored_and_logged_once(caplog):
    link = Fixed("link", 9000.0)
    arb = TempoArbiter([link])
    clock = BeatClock(120.0)
    with caplog.at_level(logging.WARNING, logger="live.control.tempo"):
        run_frames(arb, clock, 0.0, 0.5)
    assert clock.bpm == 120.0 and arb.leader != "link"
    assert sum("9000" in r.getMessage() for r in caplog.records) == 1


def test_low_confidence_audio_does_not_lead():
    audio = Fixed("audio", 140.0, confidence=0.2)
    arb = TempoArbiter([audio])
    clock = BeatClock(120.0)
    run_frames(arb, clock, 0.0, 0.3)
    assert clock.bpm == 120.0 and clock.source == "scene"


def test_tap_beats_audio_for_a_while_and_proposes_to_link():
    audio = Fixed("audio", 100.0)
    arb = TempoArbiter([audio], tap_hold_s=5.0)
    clock = BeatClock(120.0)
    t = run_frames(arb, clock, 0.0, 0.5)
    for k in range(4):
        clock.tap(t + k * 0.5)  # 120 bpm taps
    t = run_frames(arb, clock, t + 1.5, t + 2.0)
    assert arb.leader == "tap" and clock.bpm == pytest.approx(120.0)
    t = run_frames(arb, clock, t, t + 6.0)
    assert arb.leader == "audio" and clock.bpm == 100.0
    link = Fixed("link", 100.0)
    arb2 = TempoArbiter([link])
    clock2 = BeatClock(100.0)
    t = run_frames(arb2, clock2, 0.0, 0.2)
    for k in range(3):
        clock2.tap(t + k * 0.4)  # 150 bpm
    run_frames(arb2, clock2, t + 0.8, t + 0.9)
    assert link.proposed and link.proposed[-1] == pytest.approx(150.0)


def test_a_new_epoch_snaps_the_phase():
    midi = Fixed("midi_clock", 120.0, bars=True)
    arb = TempoArbiter([midi])
    clock = BeatClock(120.0)
    t = run_frames(arb, clock, 0.0, 0.5)
    midi.phase0, midi.epoch = 1.25, 1  # Start pressed: the position was redefined
    t = run_frames(arb, clock, t, t + 1 / 60)
    assert clock.beat_at(t) % 4 == pytest.approx(midi.reading(t).beat % 4, abs=1e-9)


def test_callable_source_and_part_state():
    parts = PartRegistry(time_source=lambda: 0.0)
    arb = TempoArbiter([CallableTempoSource("audio", lambda t: TempoReading(96.0, t * 1.6, t, 0.9))],
                       parts=parts)
    clock = BeatClock(120.0)
    run_frames(arb, clock, 0.0, 0.2)
    assert parts.get("tempo").reason == "source: audio (96.0 bpm)"


def test_wrap():
    assert wrap(0.75, 1.0) == pytest.approx(-0.25) and wrap(-0.75, 1.0) == pytest.approx(0.25)
    assert wrap(3.0, 4.0) == pytest.approx(-1.0) and wrap(0.5, 1.0) == pytest.approx(0.5)


def test_the_audio_tracker_adapter_rebases_on_the_downbeat():
    from live.control.tempo import TrackerTempoSource

    state = {"s": None}

    class State:  # the shape of live.audio.tracker.TrackerState
        bpm, confidence, locked, active, beats_per_bar = 120.0, 0.8, True, True, 4
        next_time, next_index, downbeat_index = 10.0, 20, 18

        def beat_at(self, t):
            return self.next_index - (self.next_time - t) / (60.0 / self.bpm)

    src = TrackerTempoSource(lambda: state["s"], to_audio_time=lambda t: t + 1.0)
    assert src.reading(5.0) is None
    state["s"] = State()
    r = src.reading(9.0)  # audio time 10.0: beat 20, two beats after downbeat 18
    assert (r.bpm, r.beat, r.bars, r.confidence) == (120.0, 2.0, True, 0.8)
    State.locked = False
    assert src.reading(9.0) is None


def test_a_stall_that_delivers_pulses_in_a_burst_does_not_disturb_the_tempo():
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    step = 60.0 / 128 / 24
    for k in range(24 * 6):
        t = k * step
        if 60 <= k < 66:  # the machine stalls for 115 ms: six pulses arrive at once
            t = 66 * step - 0.001
        wire.send([0xF8], t)
        if k >= 48:
            assert clock.bpm == pytest.approx(128.0, rel=0.005), k
    assert clock.reading(143 * step).beat == pytest.approx(143 / 24, abs=0.01)


def test_start_after_silence_measures_the_new_tempo_afresh():
    clock = MidiClockIn()
    wire = Wire(clock)
    wire.send([0xFA], 0.0)
    last = pulses(wire, 128.0, 0.0, 4)
    wire.send([0xFC], last + 0.01)
    wire.send([0xFA], last + 0.3)  # 0.3 s of silence, then a new song at 174 bpm
    step = 60.0 / 174 / 24
    for k in range(12):
        wire.send([0xF8], last + 0.35 + k * step)
    r = clock.reading(last + 0.35 + 11 * step)
    assert r.bpm == pytest.approx(174.0, rel=1e-6) and r.beat == pytest.approx(11 / 24, abs=1e-6)
