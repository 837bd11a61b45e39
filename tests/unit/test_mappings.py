"""MappingSet: combine modes, one source into several targets, untouched sources, MIDI decoding
declarations and conflicts, stateful chains across frames (no GL)."""

from __future__ import annotations

import pytest

from live.modulation.mappings import Mapping, MappingConflict, MappingSet
from live.modulation.signals import SignalBus
from live.modulation.transforms import FrameTime, TransformSpec


def bus_with(**values: float) -> SignalBus:
    bus = SignalBus()
    bus.update({k.replace("_", "."): v for k, v in values.items()})
    return bus


@pytest.mark.parametrize(("mode", "want"), [("sum", 0.9), ("max", 0.5), ("multiply", 0.2)])
def test_several_sources_into_one_target_combine_by_the_declared_mode(mode, want):
    bus = SignalBus()
    bus.update({"audio.bass": 0.4, "midi.cc.1.7": 0.5})
    t = TransformSpec(combine=mode)
    ms = MappingSet([Mapping("audio.bass", "layers.a.x", transform=t),
                     Mapping("midi.cc.1.7", "layers.a.x", transform=t)])
    assert ms.evaluate(bus)["layers.a.x"] == pytest.approx(want)
    assert ms.combine_modes == {"layers.a.x": mode}


def test_one_source_drives_several_targets_each_with_its_own_range():
    bus = SignalBus()
    bus.set("midi.cc.1.7", 0.5)
    ms = MappingSet([Mapping("midi.cc.1.7", "layers.a.speed", 0.0, 4.0),
                     Mapping("midi.cc.1.7", "layers.b.opacity", 1.0, 0.0),
                     Mapping("midi.cc.1.7", "master.dimmer")])
    assert ms.evaluate(bus) == {"layers.a.speed": 2.0, "layers.b.opacity": 0.5, "master.dimmer": 0.5}
    assert ms.targets == ["layers.a.speed", "layers.b.opacity", "master.dimmer"]


def test_a_source_never_seen_leaves_its_target_alone():
    bus = SignalBus()
    bus.set("audio.bass", 0.5)
    ms = MappingSet([Mapping("midi.cc.1.14", "master.dimmer"),
                     Mapping("midi.cc.1.7", "layers.a.x"), Mapping("audio.bass", "layers.a.x")])
    out = ms.evaluate(bus)
    assert "master.dimmer" not in out  # an untouched fader does not black the show out
    assert out == {"layers.a.x": 0.5}  # the contributing mapping alone
    bus.set("midi.cc.1.14", 0.0)  # the fader moved to 0: now it drives
    assert ms.evaluate(bus)["master.dimmer"] == 0.0


def test_disagreeing_combine_modes_are_refused_with_both_mappings_named():
    with pytest.raises(MappingConflict) as info:
        MappingSet([Mapping("audio.bass", "t"), Mapping("audio.mid", "u"),
                    Mapping("audio.treb", "t", transform=TransformSpec(combine="max"))])
    assert (info.value.first, info.value.second, info.value.key) == (0, 2, "combine")
    assert "'t'" in str(info.value) and "max" in str(info.value)


def test_a_controller_read_as_encoder_and_as_position_is_a_conflict():
    enc = TransformSpec(encoder="twos_complement")
    with pytest.raises(MappingConflict, match="read two ways") as info:
        MappingSet([Mapping("midi.cc.1.16", "a", transform=enc), Mapping("midi.cc.1.16", "b")])
    assert info.value.key == "encoder"
    # 7-bit and 14-bit readings of one controller agree (the 14-bit value is just finer).
    fine = MappingSet([Mapping("midi.cc.1.7", "a", transform=TransformSpec(bits=14)),
                       Mapping("midi.cc.1.7", "b")])
    assert fine.midi_declarations() == {"midi.cc.1.7": "cc14"}


def test_midi_declarations_list_encoders_and_14_bit_controllers():
    ms = MappingSet([
        Mapping("midi.apc.cc.1.16", "a", transform=TransformSpec(encoder="twos_complement")),
        Mapping("midi.cc.2.1", "b", transform=TransformSpec(bits=14)),
        Mapping("audio.bass", "c"),
    ])
    assert ms.midi_declarations() == {"midi.apc.cc.1.16": "twos_complement", "midi.cc.2.1": "cc14"}


def test_stateful_chains_keep_state_per_mapping_across_frames():
    bus = SignalBus()
    toggle = TransformSpec(button="toggle")
    ms = MappingSet([Mapping("midi.note.1.82", "master.blackout", transform=toggle),
                     Mapping("midi.note.1.82", "layers.a.enabled", transform=toggle)])
    seen = []
    for v in (1.0, 0.0, 1.0, 0.0):
        bus.set("midi.note.1.82", v)
        seen.append(ms.evaluate(bus, FrameTime(dt=1 / 60)))
    assert [s["master.blackout"] for s in seen] == [1.0, 1.0, 0.0, 0.0]
    assert seen[0]["layers.a.enabled"] == 1.0  # the second mapping toggled on its own state too


def test_smoothing_inside_the_set_follows_dt():
    bus = SignalBus()
    ms = MappingSet([Mapping("audio.bass", "x", transform=TransformSpec(attack=0.1))])
    bus.set("audio.bass", 0.0)
    ms.evaluate(bus, FrameTime(dt=0.0))
    bus.set("audio.bass", 1.0)
    y = ms.evaluate(bus, FrameTime(dt=0.1))["x"]
    assert y == pytest.approx(0.632120558, abs=1e-8)
