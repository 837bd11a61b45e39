"""The signals bus, range mappings and the part-state registry (no GL)."""

from __future__ import annotations

import math

from live.health.registry import PartRegistry, State
from live.modulation.mappings import Mapping, MappingSet
from live.modulation.signals import SignalBus


def test_trigger_is_one_for_exactly_one_frame():
    bus = SignalBus()
    bus.trigger("audio.beat")
    assert bus.get("audio.beat") == 1.0
    bus.end_frame()
    assert bus.get("audio.beat") == 0.0
    bus.end_frame()
    assert bus.get("audio.beat") == 0.0


def test_levels_persist_across_frames():
    bus = SignalBus()
    bus.update({"audio.bass": 0.25, "audio.mid": 0.5})
    bus.end_frame()
    assert bus.get("audio.bass") == 0.25 and bus.get("audio.mid") == 0.5
    assert bus.get("audio.unknown", 0.7) == 0.7
    assert bus.names() == ["audio.bass", "audio.mid"]


def test_mapping_scales_and_clamps_into_range():
    bus = SignalBus()
    m = Mapping("audio.bass", "layers.a.speed", 2.0, 4.0)
    for x, want in [(0.0, 2.0), (0.5, 3.0), (1.0, 4.0), (1.7, 4.0), (-3.0, 2.0), (math.nan, 2.0)]:
        bus.set("audio.bass", x)
        assert m.value(bus) == want
    inverted = Mapping("audio.bass", "t", 1.0, 0.0)
    bus.set("audio.bass", 0.25)
    assert inverted.value(bus) == 0.75


def test_several_mappings_into_one_target_add_up():
    bus = SignalBus()
    bus.update({"audio.bass": 1.0, "audio.treb": 0.5})
    ms = MappingSet([Mapping("audio.bass", "x", 0.0, 0.2), Mapping("audio.treb", "x", 0.0, 0.4),
                     Mapping("audio.treb", "y", 0.0, 1.0)])
    out = ms.evaluate(bus)
    assert math.isclose(out["x"], 0.4) and out["y"] == 0.5
    assert len(ms) == 3


def test_registry_keeps_since_for_a_repeated_state_and_reports_worst():
    now = [10.0]
    reg = PartRegistry(time_source=lambda: now[0])
    seen = []
    reg.subscribe(seen.append)
    reg.ok("audio", "device x")
    now[0] = 12.0
    rec = reg.ok("audio", "device x")
    assert rec.since == 10.0 and len(seen) == 1
    reg.degraded("midi", "port gone")
    assert reg.worst() == State.DEGRADED
    reg.failed("layer.a", "compile error")
    assert reg.worst() == State.FAILED
    assert reg.get("layer.a").reason == "compile error"
    assert set(reg.snapshot()) == {"audio", "midi", "layer.a"}
    reg.remove("layer.a")
    assert reg.worst() == State.DEGRADED
