"""OSCQuery over HTTP and WebSocket against the real engine's namespace, on loopback."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from live.clock import ManualClock
from live.control.osc import OscSettings
from live.control.osc_service import OscServices
from live.control.oscquery import OscQuerySettings
from live.engine import Engine
from live.render.shader_source import default_search_roots
from live.scene import parse_scene

pytestmark = [pytest.mark.gl, pytest.mark.timeout(120)]

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]

SCENE = """schema = 1
[scene]
name = "query"
bpm = 120

[[layers]]
id = "a"
kind = "shader"
source = "e/solid"
params = { level = 0.5 }
"""


@pytest.fixture
def served(ctx):
    eng = Engine(ctx, (32, 16), ManualClock(), shader_roots=ROOTS)
    eng.load_scene(parse_scene(SCENE, "query.toml"))
    services = OscServices(eng, OscSettings(host="127.0.0.1", port=0),
                           query=OscQuerySettings(host="127.0.0.1", port=0, name="Echoel Test"))
    services.start()
    frame(eng, services)
    yield eng, services
    services.close()
    eng.release()


def frame(eng, services) -> None:
    services.poll()
    eng.tick()
    eng.clock.advance(1 / 30)  # every frame is a feedback/LISTEN poll at 30 per second


def get(services, path: str) -> tuple[int, object]:
    url = f"http://127.0.0.1:{services.query.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read()
            return resp.status, (json.loads(body) if body else None)
    except urllib.error.HTTPError as exc:
        return exc.code, None


def test_namespace_nodes_with_type_range_access_value_description(served):
    _, services = served
    status, root = get(services, "/")
    assert status == 200 and root["FULL_PATH"] == "/"
    level = root["CONTENTS"]["echoel"]["CONTENTS"]["layers"]["CONTENTS"]["a"]["CONTENTS"]["level"]
    assert level["FULL_PATH"] == "/echoel/layers/a/level"
    assert level["TYPE"] == "f" and level["RANGE"] == [{"MIN": 0.0, "MAX": 1.0}]
    assert level["ACCESS"] == 3 and level["VALUE"] == [0.5] and "level" in level["DESCRIPTION"]
    flash = get(services, "/echoel/layers/a/flash")[1]
    assert flash["TYPE"] == "N" and flash["ACCESS"] == 2 and "VALUE" not in flash
    enabled = get(services, "/echoel/layers/a/enabled")[1]
    assert enabled["TYPE"] == "T" and enabled["VALUE"] == [True]
    dimmer = get(services, "/echoel/master/dimmer")[1]
    assert dimmer["VALUE"] == [1.0]


def test_single_attributes_host_info_and_errors(served):
    _, services = served
    assert get(services, "/echoel/layers/a/level?VALUE") == (200, {"VALUE": [0.5]})
    assert get(services, "/echoel/layers/a/level?TYPE") == (200, {"TYPE": "f"})
    status, info = get(services, "/?HOST_INFO")
    assert status == 200 and info["NAME"] == "Echoel Test"
    assert info["OSC_PORT"] == services.input.port and info["OSC_TRANSPORT"] == "UDP"
    assert info["EXTENSIONS"]["LISTEN"] is True and info["EXTENSIONS"]["VALUE"] is True
    assert get(services, "/echoel/layers/zz/level")[0] == 404
    assert get(services, "/echoel/layers?VALUE")[0] == 204     # a container has no value
    assert get(services, "/echoel/layers/a/level?BOGUS")[0] == 400


def test_values_follow_osc_and_show_up_over_http(served):
    eng, services = served
    SimpleUDPClient("127.0.0.1", services.input.port).send_message("/echoel/layers/a/level", 0.8)
    end = time.monotonic() + 5
    while services.input.counters.messages < 1 and time.monotonic() < end:
        time.sleep(0.005)
    frame(eng, services)
    assert get(services, "/echoel/layers/a/level?VALUE") == (200, {"VALUE": [pytest.approx(0.8)]})


def test_websocket_listen_streams_changes_and_ignore_stops_them(served):
    from websockets.sync.client import connect
    eng, services = served
    layer = eng.scene.layers[0]
    with connect(f"ws://127.0.0.1:{services.query.port}/") as ws:
        ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/echoel/layers/a/level"}))
        time.sleep(0.2)  # the server reads the command
        layer.set_mapped("level", 0.3)
        frame(eng, services)
        msg = OscMessage(ws.recv(timeout=5))
        assert msg.address == "/echoel/layers/a/level" and msg.params == [pytest.approx(0.3)]
        layer.opacity = 0.5       # not listened to: nothing arrives for it
        ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/echoel/layers/a/level"}))
        time.sleep(0.2)
        layer.set_mapped("level", 0.9)
        frame(eng, services)
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)
        # A new scene: every client hears that the namespace changed.
        eng.load_scene(parse_scene(SCENE.replace('id = "a"', 'id = "b"'), "query2.toml"))
        frame(eng, services)
        notice = json.loads(ws.recv(timeout=5))
        assert notice == {"COMMAND": "PATH_CHANGED", "DATA": "/echoel"}
    assert get(services, "/echoel/layers/b/level?VALUE")[0] == 200
    assert get(services, "/echoel/layers/a/level?VALUE")[0] == 404


def test_companion_devices_appear_as_write_only_nodes(served):
    eng, services = served
    SimpleUDPClient("127.0.0.1", services.input.port).send_message("/echoel/bio/watch1/hr", 66.0)
    end = time.monotonic() + 5
    while services.input.counters.messages < 1 and time.monotonic() < end:
        time.sleep(0.005)
    frame(eng, services)
    status, node = get(services, "/echoel/bio/watch1/rr")
    assert status == 200 and node["TYPE"] == "i" and node["ACCESS"] == 2
