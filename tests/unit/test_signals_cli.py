"""`echoel signals`: the mapping names a performer can use, with ranges and OSC addresses."""

from __future__ import annotations

from live.cli import main
from live.engine import ShaderLibrary
from live.scene import find_scene, load_scene


def test_sources_are_listed_and_a_scene_adds_its_targets_with_ranges(capsys):
    assert main(["signals"]) == 0
    plain = capsys.readouterr().out.splitlines()
    assert "source\taudio.bass\t0..1" in plain
    assert any(line.startswith("source\tmidi.cc.<ch>.<cc>") for line in plain)
    assert not any(line.startswith("target\tlayers.") for line in plain)

    assert main(["signals", "demo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    spec = load_scene(find_scene("demo"))
    layer = spec.layers[0]
    shader = ShaderLibrary().get(layer.source)
    floats = [i for i in shader.inputs if i.type == "float"]
    assert floats, "the demo's first layer should have a float parameter"
    inp = floats[0]
    name = f"layers.{layer.id}.{inp.name}"
    assert f"target\t{name}\tfloat {inp.min:g}..{inp.max:g}\t/echoel/{name.replace('.', '/')}" in lines
    assert f"target\tlayers.{layer.id}.opacity\tfloat 0..1\t/echoel/layers/{layer.id}/opacity" in lines
    assert "target\tmaster.dimmer\t(global)\t/echoel/master/dimmer" in lines


def test_an_unknown_scene_is_a_user_error(capsys):
    assert main(["signals", "no-such-scene"]) == 2
    assert "no-such-scene" in capsys.readouterr().err
