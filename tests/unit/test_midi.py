"""MIDI input without ports: bytes and mido messages pushed straight into the parser, the
decoder and the input's queue (the real ports are tested in tests/e2e/test_midi_jack.py)."""

from __future__ import annotations

import itertools
import logging

import mido
import pytest

from live.clock import ManualClock
from live.control.midi import (
    MidiDecoder,
    MidiError,
    MidiInput,
    MidiMessage,
    MidiParser,
    PortRule,
    bend_value,
    check_alias,
)
from live.modulation.signals import SignalBus
from live.modulation.transforms import FrameTime, TransformSpec, compile_chain


def parse(data) -> list[tuple[int, int, int, int]]:
    return [(m.status, m.channel, m.data1, m.data2) for m in MidiParser().feed(data)]


def test_channel_messages_and_running_status():
    # A note on, then two more notes and a note off (velocity 0) in running status.
    stream = [0x90, 60, 100, 62, 90, 60, 0, 0xB3, 7, 127, 10, 64]
    assert parse(stream) == [(0x90, 1, 60, 100), (0x90, 1, 62, 90), (0x90, 1, 60, 0),
                             (0xB3, 4, 7, 127), (0xB3, 4, 10, 64)]


def test_program_change_has_one_data_byte_and_keeps_running_status():
    assert parse([0xC0, 5, 6, 0xD1, 100]) == [(0xC0, 1, 5, 0), (0xC0, 1, 6, 0), (0xD1, 2, 100, 0)]


def test_realtime_bytes_inside_a_message_do_not_break_it():
    stream = [0xB0, 0xF8, 7, 0xFE, 99, 0xFA, 0xFC]
    assert parse(stream) == [(0xF8, 0, 0, 0), (0xB0, 1, 7, 99), (0xFA, 0, 0, 0), (0xFC, 0, 0, 0)]


def test_song_position_is_decoded_as_14_bits():
    assert parse([0xF2, 0x10, 0x02]) == [(0xF2, 0, 0x10 | (0x02 << 7), 0)]


def test_system_common_cancels_running_status():
    p = MidiParser()
    assert [m.status for m in p.feed([0x90, 60, 1, 0xF6, 61, 2])] == [0x90, 0xF6]
    assert p.stats.stray_data == 2


def test_sysex_is_skipped_and_counted_and_parsing_goes_on():
    p = MidiParser()
    flood = []
    for i in range(500):
        flood += [0xF0, 0x7E, 0x7F, 0x06, 0x01, i % 128, 0xF7]
    msgs = p.feed([0xB0, 1, 2] + flood + [0xB0, 3, 4])
    assert [(m.data1, m.data2) for m in msgs] == [(1, 2), (3, 4)]
    assert p.stats.sysex == 500 and p.stats.truncated == 0


def test_truncated_messages_are_counted_and_the_next_one_still_parses(caplog):
    p = MidiParser()
    with caplog.at_level(logging.WARNING, logger="live.control.midi"):
        msgs = p.feed([0x90, 60, 0xB0, 7, 0x80, 0xE0, 0, 64])
        msgs += p.feed([0x90, 61])  # split across feeds: not truncated yet
        msgs += p.feed([5])
    assert [(m.status, m.data1, m.data2) for m in msgs] == [(0xE0, 0, 64), (0x90, 61, 5)]
    assert p.stats.truncated == 3  # note on, CC and note off each cut short
    assert sum("truncated" in r.getMessage() for r in caplog.records) == 1  # logged once


def test_stray_data_and_stray_eox_are_counted():
    p = MidiParser()
    assert p.feed([7, 8, 0xF7]) == []
    assert (p.stats.stray_data, p.stats.stray_eox) == (2, 1)


def test_unterminated_sysex_ends_at_the_next_status():
    p = MidiParser()
    msgs = p.feed([0xF0, 1, 2, 3, 0xB0, 7, 64])
    assert [(m.status, m.data1) for m in msgs] == [(0xB0, 7)] and p.stats.truncated == 1


@pytest.mark.parametrize(("msb", "lsb", "want"), [
    (0, 0, 0.0), (64, 0, 0.5), (127, 127, 1.0), (32, 0, 0.25), (96, 0, 0.5 + 4096 / 16382)])
def test_pitch_bend_centre_is_exactly_half(msb, lsb, want):
    assert bend_value(lsb, msb) == pytest.approx(want, abs=1e-12)


def decode(messages, declared=None, alias=None) -> SignalBus:
    bus = SignalBus()
    dec = MidiDecoder()
    if declared:
        dec.set_declarations(declared)
    dec.begin_frame(bus)
    parser = MidiParser(dec.stats)
    for m in messages:
        data = m.bytes() if isinstance(m, mido.Message) else m
        for msg in parser.feed(data):
            dec.handle(msg, 0.0, alias)
    dec.end_frame()
    return bus


def test_mido_messages_become_signals_with_channels_1_to_16():
    bus = decode([mido.Message("control_change", channel=0, control=21, value=127),
                  mido.Message("note_on", channel=9, note=36, velocity=64),
                  mido.Message("pitchwheel", channel=15, pitch=0),
                  mido.Message("program_change", channel=2, program=127)])
    assert bus.snapshot() == {"midi.cc.1.21": 1.0, "midi.note.10.36": 64 / 127,
                              "midi.bend.16": 0.5, "midi.program.3": 1.0}


def test_note_off_and_note_on_velocity_zero_both_read_zero():
    for release in (mido.Message("note_off", note=60, velocity=64), [0x90, 60, 0]):
        bus = decode([mido.Message("note_on", note=60, velocity=100)])
        assert bus.get("midi.note.1.60") == pytest.approx(100 / 127)
        bus = decode([release])
        assert bus.get("midi.note.1.60") == 0.0


def test_a_tap_inside_one_frame_shows_its_press_for_a_frame_then_its_release():
    """A quick tap (JACK hands over a period's messages at once) must not lose the press, or a
    toggle or trigger bound to the button never fires."""
    bus, dec = SignalBus(), MidiDecoder()
    parser = MidiParser(dec.stats)
    shown = []
    frames = [[[0x90, 36, 127], [0x80, 36, 0]],                # tap on a pad
              [],
              [[0x90, 36, 90], [0x90, 36, 0], [0x90, 36, 110], [0x90, 36, 0]],  # double tap
              [], [], [],
              [[0xB0, 64, 127], [0xB0, 64, 0]],                # a CC button, via an alias
              [],
              [[0xB0, 7, 10], [0xB0, 7, 80], [0xB0, 7, 40]]]   # a fader: no edges, last wins
    for messages in frames:
        dec.begin_frame(bus)
        for m in messages:
            for msg in parser.feed(m):
                dec.handle(msg, 0.0, "pad")
        dec.end_frame()
        shown.append((bus.get("midi.note.1.36"), bus.get("midi.pad.note.1.36"),
                      bus.get("midi.cc.1.64"), bus.get("midi.cc.1.7")))
    notes = [round(s[0] * 127) for s in shown]
    assert notes == [127, 0, 90, 0, 110, 0, 0, 0, 0]
    toggle = compile_chain(TransformSpec(button="toggle"))
    states = [toggle(s[0], FrameTime(dt=1 / 60)) for s in shown]
    assert states == [1, 1, 0, 0, 1, 1, 1, 1, 1]  # three taps: on, off, on
    assert [round(s[1] * 127) for s in shown] == notes  # the alias twin shows the same edges
    assert [round(s[2] * 127) for s in shown][6:8] == [127, 0]
    assert round(shown[-1][3] * 127) == 40


def test_a_release_then_a_new_press_in_one_frame_keeps_both_edges():
    bus, dec = SignalBus(), MidiDecoder()
    parser = MidiParser(dec.stats)
    shown = []
    for messages in ([[0x90, 40, 100]], [[0x90, 40, 0], [0x90, 40, 100]], [], []):
        dec.begin_frame(bus)
        for m in messages:
            for msg in parser.feed(m):
                dec.handle(msg, 0.0)
        dec.end_frame()
        shown.append(round(bus.get("midi.note.1.40") * 127))
    # Frame 2's release comes after no press in that frame: shown at once; its new press is
    # then an edge in the same frame, so it waits one frame.
    assert shown == [100, 0, 100, 100]


def test_an_alias_publishes_the_prefixed_twin():
    bus = decode([[0xB0, 48, 64]], alias="apc40")
    assert bus.get("midi.cc.1.48") == bus.get("midi.apc40.cc.1.48") == 64 / 127


def test_14_bit_controller_combines_msb_and_lsb_when_declared():
    declared = {"midi.cc.1.7": "cc14"}
    bus = decode([[0xB0, 7, 0x40, 0xB0, 39, 0x01]], declared)
    assert bus.get("midi.cc.1.7") == pytest.approx(((0x40 << 7) | 1) / 16383)
    assert bus.get("midi.cc.1.39") == 1 / 127  # the LSB's own 7-bit signal stays as it is
    # A new MSB resets the LSB (MIDI 1.0), the full-scale value reaches exactly 1.
    bus = decode([[0xB0, 7, 127, 0xB0, 39, 127, 0xB0, 7, 127]], declared)
    assert bus.get("midi.cc.1.7") == pytest.approx((127 << 7) / 16383)
    bus = decode([[0xB0, 7, 127, 0xB0, 39, 127]], declared)
    assert bus.get("midi.cc.1.7") == 1.0
    undeclared = decode([[0xB0, 7, 0x40, 0xB0, 39, 0x01]])
    assert undeclared.get("midi.cc.1.7") == 0x40 / 127


def test_lsb_before_any_msb_is_counted_not_guessed():
    dec = MidiDecoder()
    dec.set_declarations({"midi.cc.1.7": "cc14"})
    bus = SignalBus()
    dec.begin_frame(bus)
    for msg in MidiParser().feed([0xB0, 39, 5]):
        dec.handle(msg, 0.0)
    assert "midi.cc.1.7" not in bus and dec.stats.out_of_range == 1


def test_relative_encoder_steps_sum_within_a_frame_and_reset_after_it():
    dec = MidiDecoder()
    dec.set_declarations({"midi.apc.cc.1.16": "twos_complement"})
    bus = SignalBus()
    dec.begin_frame(bus)
    for msg in MidiParser().feed([0xB0, 16, 1, 16, 1, 16, 127, 16, 3]):
        dec.handle(msg, 0.0, "apc")
    dec.end_frame()
    assert bus.get("midi.apc.cc.1.16") == 4.0  # +1 +1 -1 +3
    assert bus.get("midi.cc.1.16") == 3 / 127  # the unprefixed name is not declared relative
    dec.begin_frame(bus)
    dec.end_frame()
    assert bus.get("midi.apc.cc.1.16") == 0.0  # no steps this frame


def test_clock_and_learn_listeners_receive_their_messages():
    dec = MidiDecoder(SignalBus())
    clock, learned = [], []
    dec.clock_listeners.append(lambda m, t, a: clock.append((m.status, t, a)))
    dec.learn_listeners.append(lambda name, m, a: learned.append((name, a)))
    parser = MidiParser()
    for msg in parser.feed([0xFA, 0xF8, 0xB0, 21, 3, 0x90, 60, 9]):
        dec.handle(msg, 1.5, "nano")
    assert clock == [(0xFA, 1.5, "nano"), (0xF8, 1.5, "nano")]
    assert learned == [("midi.cc.1.21", "nano"), ("midi.note.1.60", "nano")]


def test_input_queue_drops_the_oldest_and_counts_it():
    clock = ManualClock(3.0)
    inp = MidiInput(clock, queue_size=4)
    for v in range(10):
        inp.inject([0xB0, 1, v])
    assert inp.stats.dropped == 6 and inp.pending == 4
    bus = SignalBus()
    assert inp.drain(bus) == 4
    assert bus.get("midi.cc.1.1") == 9 / 127  # the newest survived


def test_sysex_never_enters_the_queue():
    inp = MidiInput(ManualClock(), queue_size=8)
    inp.inject([0xB0, 1, 5])
    for _ in range(1000):
        inp.inject([0xF0, 0x41, 0x10, 0xF7])
    assert inp.pending == 1 and inp.stats.sysex == 1000 and inp.stats.dropped == 0
    bus = SignalBus()
    inp.drain(bus)
    assert bus.get("midi.cc.1.1") == 5 / 127


def test_drain_survives_garbage_and_keeps_publishing():
    inp = MidiInput(ManualClock())
    inp.inject([0x00, 0xFF, 0xF7, 0x91])  # stray data, reset, stray EOX, truncated note
    inp.inject([0xB0, 2, 127])
    bus = SignalBus()
    inp.drain(bus)
    assert bus.get("midi.cc.1.2") == 1.0


def test_aliases_must_fit_signal_names():
    assert check_alias("apc40") == "apc40"
    for bad in ("a b", "cc", "apc.40", ""):
        with pytest.raises(MidiError, match="alias"):
            check_alias(bad)
    with pytest.raises(MidiError):
        MidiInput(ManualClock(), [PortRule("*", "my port")])


def test_port_rules_match_names_case_insensitively():
    rule = PortRule("*apc40 mkII*", "apc40")
    assert rule.matches("a2j:APC40 mkII [24] (capture): APC40 mkII MIDI 1")
    assert not rule.matches("nanoKONTROL2 SLIDER/KNOB")


def test_midi_message_kind_strips_the_channel():
    assert MidiMessage(0x9F, 16, 1, 2).kind == 0x90 and MidiMessage(0xF8, 0).kind == 0xF8


def test_clock_out_sends_24_pulses_per_beat_between_start_and_stop():
    import time as _time

    from live.clock import BeatClock, WallClock
    from live.control.midi_out import ClockOut

    clock = WallClock()
    sent: list[tuple[int, float]] = []
    out = ClockOut(lambda data: sent.append((data[0], _time.monotonic())), clock)
    beat = BeatClock(150.0, origin=clock.now())  # 60 pulses per second
    beat.update(clock.now())
    out.follow(beat)
    out.start()
    _time.sleep(0.5)
    out.stop()
    kinds = [k for k, _ in sent]
    assert kinds[0] == 0xFA and kinds[-1] == 0xFC
    pulses = [t for k, t in sent if k == 0xF8]
    assert 25 <= len(pulses) <= 31  # 0.5 s at 60 pulses/s, allowing for thread start and stop
    gaps = sorted(b - a for a, b in itertools.pairwise(pulses))
    assert gaps[len(gaps) // 2] == pytest.approx(1 / 60, abs=0.004)  # median spacing


def test_led_feedback_sends_only_changes_and_everything_after_a_reconnect():
    from live.control.midi_out import FeedbackState, LedFeedback
    from live.modulation.mapping_files import Feedback

    class Ports:
        def __init__(self):
            self.sent, self.on_open = [], None

        def send(self, data, port=None):
            self.sent.append(data)

    ports = Ports()
    leds = LedFeedback([Feedback("master.blackout", "note", 1, 81, on=1),
                        Feedback("scene.goto", "cc", 1, 32, on=127, entry=2),
                        Feedback("beat", "note", 9, 73, on=15, off=12)], ports)
    assert leds.update(FeedbackState(entry=1, beat_phase=0.1)) == 3
    assert ports.sent == [[0x90, 81, 0], [0xB0, 32, 0], [0x98, 73, 15]]
    assert leds.update(FeedbackState(entry=1, beat_phase=0.15)) == 0  # nothing changed
    assert leds.update(FeedbackState(entry=2, beat_phase=0.5, blackout=True)) == 3
    assert ports.sent[-3:] == [[0x90, 81, 1], [0xB0, 32, 127], [0x98, 73, 12]]
    ports.on_open("Pad")  # the device came back: everything is sent again
    assert leds.update(FeedbackState(entry=2, beat_phase=0.5, blackout=True)) == 3


class _FakeRtmidi:
    """Stands in for python-rtmidi: counts the MIDI clients made; ports come from `names`."""

    API_UNIX_JACK = 3

    def __init__(self) -> None:
        self.names = ["pad out"]
        self.clients = 0
        self.fail_next_list = False
        fake = self

        class Client:
            def __init__(self, api, name="", queue_size_limit=0):
                fake.clients += 1
                self.deleted = False

            def get_ports(self):
                if fake.fail_next_list:
                    fake.fail_next_list = False
                    raise RuntimeError("JACK server gone")
                return list(fake.names)

            def ignore_types(self, **kw):
                pass

            def open_port(self, index, name=""):
                pass

            def open_virtual_port(self, name):
                pass

            def close_port(self):
                pass

            def delete(self):
                self.deleted = True

        self.MidiIn = self.MidiOut = Client

    def get_compiled_api(self):
        return [self.API_UNIX_JACK]

    def get_api_name(self, api):
        return "jack"


def test_port_rescans_reuse_one_lister_client(monkeypatch):
    """Opening a MIDI client holds the GIL for tens of ms (JACK), so a rescan that opened a new
    one every time stalled the render thread by a frame or two: the scanner keeps one lister,
    replaces it only after it failed, and still sees ports come and go."""
    import live.control.midi as midi_module
    from live.control.midi_out import MidiOutPorts

    fake = _FakeRtmidi()
    monkeypatch.setattr(midi_module, "_rtmidi", lambda: fake)
    midi = MidiInput(ManualClock(), [PortRule("*pad*", "pad")], virtual_name="", api="jack")
    midi._scan_once()
    base = fake.clients  # the API probe, the lister and the opened pad port
    assert midi.port_names == ["pad out"]
    for _ in range(20):
        midi._scan_once()
    assert fake.clients == base, "a rescan made new MIDI clients"
    fake.names = ["pad out", "pad two"]
    midi._scan_once()
    assert midi.port_names == ["pad out", "pad two"] and fake.clients == base + 1  # only the new port
    fake.fail_next_list = True
    midi._scan_once()  # the lister's server died: reported, dropped ...
    assert midi.port_names == ["pad out", "pad two"]
    midi._scan_once()  # ... and a new lister is made at the next scan
    assert fake.clients == base + 2

    out = MidiOutPorts(["*pad*"], api="jack")
    out.scan()
    before = fake.clients
    for _ in range(20):
        out.scan()
    assert fake.clients == before, "a MIDI out rescan made new MIDI clients"
    midi.stop()
    out.stop()


def test_stamps_keep_rtmidis_spacing_whatever_the_poll_times_and_never_lie_ahead():
    """Clock pulses every 20 ms polled by 60 fps frames with jitter: each stamp is the arrival
    time (within a couple of ms), not the poll time, and never later than the poll."""
    import random

    from live.control.midi import _Stamper

    rng = random.Random(3)
    stamper, arrivals = _Stamper(), [1.0 + 0.02 * k for k in range(3000)]
    polls = iter(1.0 + (k + 1) / 60 + rng.uniform(0.0, 0.004) for k in range(10**6))
    poll = next(polls)
    errors, previous = [], None
    for t in arrivals:
        while poll < t:
            poll = next(polls)
        stamp = stamper.stamp(0.0 if previous is None else t - previous, poll)
        previous = t
        assert stamp <= poll + 1e-9
        errors.append(stamp - t)
    settled = errors[200:]
    assert max(abs(e) for e in settled) < 0.003


def test_a_delta_that_was_too_short_stops_skewing_stamps_within_seconds():
    from live.control.midi import _Stamper

    stamper, t, poll_lag = _Stamper(), 0.0, 0.001
    for _ in range(100):
        t += 0.02
        stamper.stamp(0.02, t + poll_lag)
    t += 0.02
    stamper.stamp(0.008, t + poll_lag)  # JACK reported 12 ms less than passed (a stalled server)
    errors = []
    for _ in range(1000):  # 20 s more of pulses
        t += 0.02
        errors.append(stamper.stamp(0.02, t + poll_lag) - t)
    assert errors[0] < -0.010  # right after: every stamp is early by about the missing time
    assert abs(errors[-1]) <= 0.0011  # 20 s later: back to the true time (poll lag at most)
