"""OSC both ways with an independent implementation: liblo's `oscsend` drives the real engine's
targets and sources, and liblo's `oscdump` receives what the engine sends (events, features,
parameter feedback). Everything stays on loopback.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from live.clock import ManualClock
from live.control.osc import OscSettings
from live.control.osc_out import OscOutSettings
from live.control.osc_service import OscServices
from live.engine import Engine
from live.render.shader_source import default_search_roots
from live.scene import parse_scene

pytestmark = [pytest.mark.gl, pytest.mark.timeout(120)]

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SIZE = (32, 16)

if shutil.which("oscsend") is None or shutil.which("oscdump") is None:
    pytest.skip("liblo-tools (oscsend, oscdump) not installed", allow_module_level=True)

SCENE = """schema = 1
[scene]
name = "osc-test"
bpm = 120

[[layers]]
id = "a"
kind = "shader"
source = "e/solid"
params = { level = 1.0 }

[[layers]]
id = "b"
kind = "shader"
source = "e/solid"
opacity = 0.0
params = { level = 1.0 }

[[mappings]]
source = "osc./1/fader1"
target = "layers.b.opacity"
range = [0.0, 1.0]
"""


@pytest.fixture
def show(ctx):
    """A real engine with a two-layer scene and OSC services on free loopback ports."""
    eng = Engine(ctx, SIZE, ManualClock(), shader_roots=ROOTS)
    eng.load_scene(parse_scene(SCENE, "osc-test.toml"))
    commands: list = []
    services = OscServices(eng, OscSettings(host="127.0.0.1", port=0),
                           commands=lambda name, value=None: commands.append((name, value)))
    services.start()
    services.commands_seen = commands
    yield eng, services
    services.close()
    eng.release()


def oscsend(port: int, address: str, types: str = "", *values) -> None:
    subprocess.run(["oscsend", "127.0.0.1", str(port), address, types, *map(str, values)],
                   check=True, timeout=10, capture_output=True)


def settle(eng: Engine, services: OscServices, messages: int, timeout: float = 5.0) -> None:
    """Run frames until the listener has taken `messages` in and they are applied."""
    end = time.monotonic() + timeout
    while services.input.counters.messages < messages and time.monotonic() < end:
        time.sleep(0.005)
    frame(eng, services)


def frame(eng: Engine, services: OscServices) -> None:
    services.poll()
    eng.tick()
    eng.clock.advance(1 / 60)


def level(eng: Engine, layer: str = "a") -> float:
    return next(ly for ly in eng.scene.layers if ly.id == layer).param_values()["level"]


def test_oscsend_sets_a_layer_parameter_and_the_picture_follows(show):
    eng, services = show
    oscsend(services.input.port, "/echoel/layers/a/level", "f", 0.25)
    settle(eng, services, 1)
    assert level(eng) == pytest.approx(0.25)
    red = eng.read_rgba()[..., 0].astype(np.float64) / 255.0
    assert np.allclose(red, 0.25, atol=2 / 255)


def test_integers_booleans_ranges_and_wrong_types(show):
    eng, services = show
    port = services.input.port
    oscsend(port, "/echoel/layers/a/level", "i", 0)             # an int for a float: fine
    oscsend(port, "/echoel/layers/a/enabled", "F")               # a boolean
    oscsend(port, "/echoel/layers/a/level", "f", 7.5)            # outside 0..1: clamped, counted
    oscsend(port, "/echoel/layers/a/level", "s", "loud")         # a string: refused, counted
    oscsend(port, "/echoel/master/dimmer", "d", 0.5)             # a double
    settle(eng, services, 5)
    a = next(ly for ly in eng.scene.layers if ly.id == "a")
    assert level(eng) == 1.0 and a.enabled is False and eng.dimmer == 0.5
    problems = services.input.stats()["problems"]
    assert problems == {"value out of range": 1, "wrong type": 1}


def test_a_source_address_drives_a_mapping(show):
    eng, services = show
    oscsend(services.input.port, "/1/fader1", "f", 0.6)
    settle(eng, services, 1)   # applied before this frame's mappings
    b = next(ly for ly in eng.scene.layers if ly.id == "b")
    assert eng.signals.get("osc./1/fader1") == pytest.approx(0.6)
    assert b.opacity == pytest.approx(0.6)


def test_an_address_pattern_reaches_every_matching_target(show):
    eng, services = show
    oscsend(services.input.port, "/echoel/layers/*/level", "f", 0.5)
    settle(eng, services, 1)
    assert level(eng, "a") == pytest.approx(0.5) and level(eng, "b") == pytest.approx(0.5)


def test_set_list_commands_and_masters(show):
    eng, services = show
    port = services.input.port
    oscsend(port, "/echoel/scene/next", "f", 1.0)    # a TouchOSC button press...
    oscsend(port, "/echoel/scene/next", "f", 0.0)    # ...and its release: one command
    oscsend(port, "/echoel/scene/goto", "i", 3)
    oscsend(port, "/echoel/master/blackout", "T")
    oscsend(port, "/echoel/tempo/bpm", "f", 140.0)
    settle(eng, services, 5)
    assert services.commands_seen == [("scene.next", None), ("scene.goto", 3.0)]
    assert eng.blackout and eng.beat.bpm == pytest.approx(140.0)
    assert not eng.read_rgba()[..., :3].any()


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_oscdump_receives_events_features_and_parameter_feedback(ctx):
    port = free_udp_port()
    # oscdump only listens (a liblo URL with a host would be taken as a multicast group).
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    eng = Engine(ctx, SIZE, ManualClock(), shader_roots=ROOTS)
    services = None
    try:
        eng.load_scene(parse_scene(SCENE, "osc-test.toml"))
        out = OscOutSettings(targets=(f"127.0.0.1:{port}",), features=("osc./1/fader1",), rate=30)
        services = OscServices(eng, OscSettings(host="127.0.0.1", port=0), out=out)
        services.start()
        time.sleep(0.5)  # oscdump binds its port
        eng.signals.set("osc./1/fader1", 0.125)
        for i in range(75):  # 1.25 s at 60 fps and 120 bpm: beats at 0.5 s and 1.0 s
            if i == 30:
                oscsend(services.input.port, "/echoel/layers/a/level", "f", 0.75)
                settle(eng, services, 1)
                continue
            frame(eng, services)
        time.sleep(0.5)
    finally:
        if services is not None:
            services.close()
        eng.release()
        dump.terminate()
        text = dump.communicate(timeout=10)[0]
    lines = text.splitlines()
    assert any("/echoel/layers/a/level f 0.750000" in ln for ln in lines), text[-2000:]
    assert any("/echoel/layers/a/level f 1.000000" in ln for ln in lines)   # the initial value
    assert sum("/echoel/beat i" in ln for ln in lines) >= 2
    assert any("/echoel/bar i" in ln for ln in lines)
    assert any("/echoel/tempo f 120.000000" in ln for ln in lines)
    features = [ln for ln in lines if "/echoel/signals/osc/" in ln]
    assert len(features) >= 30 and features[-1].endswith("f 0.125000")
