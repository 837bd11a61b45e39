"""`echoel signals [SCENE]`: the names a mapping can use, one per line.

Without a scene: every source (exact names, then the prefixed families). With a scene: also every
target of that scene with its type and range (layer parameters from the shader headers, layer
attributes, effects, the global targets) and the OSC address of each target. Runs on the main
thread; reads shader headers only (no GL).
"""

from __future__ import annotations

import argparse

from live.engine import ShaderLibrary
from live.scene import EXACT_SOURCES, GLOBAL_TARGETS, SOURCE_FAMILIES, find_scene, load_scene

#: Input types one float can drive (the others are set in the scene file).
_MAPPABLE = ("float", "long", "bool", "event")


def osc_address(target: str) -> str:
    """The OSC address of a target: /echoel/ plus the target with dots as slashes."""
    return "/echoel/" + target.replace(".", "/")


def source_lines() -> list[str]:
    return ([f"source\t{name}\t0..1" for name in EXACT_SOURCES]
            + [f"source\t{family}\t(family)" for family in SOURCE_FAMILIES])


def target_lines(scene_name: str | None) -> list[str]:
    lines = []
    if scene_name is not None:
        spec = load_scene(find_scene(scene_name))
        shaders = ShaderLibrary()
        for layer in spec.layers:
            base = f"layers.{layer.id}"
            lines.append(f"target\t{base}.opacity\tfloat 0..1\t{osc_address(base + '.opacity')}")
            lines.append(f"target\t{base}.enabled\tbool\t{osc_address(base + '.enabled')}")
            stages = [(base, layer.source)] if layer.kind in ("shader", "effect", "feedback") else []
            stages += [(f"{base}.fx.{fx.id}", fx.shader) for fx in layer.fx]
            for prefix, shader_name in stages:
                for inp in shaders.get(shader_name).inputs:
                    if inp.type not in _MAPPABLE:
                        continue
                    lo = inp.min if inp.min is not None else (min(inp.values) if inp.values else None)
                    hi = inp.max if inp.max is not None else (max(inp.values) if inp.values else None)
                    rng = f" {lo:g}..{hi:g}" if lo is not None and hi is not None else ""
                    name = f"{prefix}.{inp.name}"
                    lines.append(f"target\t{name}\t{inp.type}{rng}\t{osc_address(name)}")
    lines += [f"target\t{name}\t(global)\t{osc_address(name)}" for name in GLOBAL_TARGETS]
    return lines


def cmd_signals(args: argparse.Namespace) -> int:
    for line in source_lines() + target_lines(args.scene):
        print(line)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "signals", help="list mapping sources, and a scene's targets with their ranges",
        description="Print one line per name: 'source<TAB>name<TAB>range' for every signal a "
        "mapping can read, then 'target<TAB>name<TAB>type range<TAB>OSC address' for SCENE's "
        "targets (layer parameters, attributes, effects) and the global targets.")
    p.add_argument("scene", nargs="?", metavar="SCENE", help="a scene file or bundled scene name")
    p.set_defaults(func=cmd_signals)
    return p
