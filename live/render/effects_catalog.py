"""The catalogue of bundled warps and effects: what `echoel effects` lists.

Every shader in ``shaders/warps`` (category "warp") and ``shaders/effects`` (category "effect")
is an effect a scene can put in a layer's ``fx`` chain or use as an effect layer. This module
reads their headers (through the ISF loader, so what is listed is exactly what scenes accept)
and formats the listing: name, category, description and every parameter with its type, range,
default and neutral value.

Two header keys of ours are read here besides ISF's: ``IDENTITY`` on an input (the neutral
value, see isf.IsfInput.identity) and ``STEP_BOUND`` at the top level: the largest mean change
of the picture (0..1 per channel, averaged over all pixels and channels) that a step of 1 % of
any float parameter's range may cause on the standard test picture. tests/gl/test_effects.py
holds every effect to its bound, so a mapped parameter driven by jittery audio never pops.

Pure Python, no GL (the contact sheet lives in live/render/effects_preview.py): any thread.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from live.render.isf import IsfInput, IsfShader, load_isf
from live.render.shader_source import (
    REPO_SHADERS,
    ShaderSourceError,
    read_shader_file,
    split_header,
)

#: Folders of shaders/ that hold effects, and the category each one's effects get.
EFFECT_FOLDERS = {"warps": "warp", "effects": "effect"}
#: Categories in listing order.
CATEGORIES = tuple(EFFECT_FOLDERS.values())


#: Name of the one-pixel persistent target where shaders keep their integrated rates
#: (shaders/common/phase.glsl). It is state, but only of positions, which one long first frame
#: brings to where a layer running since time 0 would have them: it needs no history to show.
PHASES_TARGET = "phases"


def persistent_targets(shader: IsfShader) -> list[str]:
    """Names of the shader's persistent pass targets. Any thread."""
    return sorted({p.target for p in shader.passes if p.persistent and p.target})


def is_stateful(shader: IsfShader) -> bool:
    """Whether the shader's look builds up over frames (a history of pictures: PREV_FRAME or a
    persistent target other than the integrated phases), so a preview needs a run of frames.
    Any thread."""
    return shader.uses("PREV_FRAME") or any(t != PHASES_TARGET for t in persistent_targets(shader))


class EffectCatalogError(ValueError):
    """An effect name is unknown, or a bundled effect's header breaks the catalogue's rules."""


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of an effect, as listed. Immutable; any thread.

    Attributes:
        name: The input name (what scenes and mappings use).
        type: ISF type: float, long, bool, event, point2D or color.
        default: Value when a scene does not set it.
        min, max: Range (per component for point2D/color), None when open.
        identity: Neutral value (IDENTITY), or None.
        label: Human-readable name.
        choices: For ``long`` menus, (value, label) pairs.
    """

    name: str
    type: str
    default: Any
    min: Any = None
    max: Any = None
    identity: Any = None
    label: str = ""
    choices: tuple[tuple[int, str], ...] = ()

    @property
    def range_text(self) -> str:
        """The allowed values in words: ``0..1``, ``0 (Lighten), 1 (Screen)``, ``on/off``."""
        if self.choices:
            return ", ".join(f"{v} ({lbl})" if str(v) != lbl else str(v) for v, lbl in self.choices)
        if self.type in ("bool", "event"):
            return "on/off" if self.type == "bool" else "trigger"
        if self.min is None and self.max is None:
            return "any"
        return f"{_fmt(self.min)}..{_fmt(self.max)}"


@dataclass(frozen=True)
class EffectInfo:
    """One bundled warp or effect. Immutable; any thread.

    Attributes:
        name: Shader name as scenes write it (``"warps/ripple"``).
        category: "warp" or "effect".
        tags: The header's CATEGORIES (``["Warp", "Audio reactive"]``).
        description: The header's DESCRIPTION.
        params: Parameters in header order (image inputs left out).
        step_bound: The header's STEP_BOUND (see the module docstring), or None.
        stateful: Keeps a history of pictures between frames (see is_stateful), so it needs
            several frames to show its look.
        integrates_rates: Integrates its rate parameters (speeds, spins) frame by frame in a
            "phases" target (shaders/common/phase.glsl), so mapped rates never make it jump.
        path: The shader file.
    """

    name: str
    category: str
    tags: tuple[str, ...]
    description: str
    params: tuple[ParamInfo, ...]
    step_bound: float | None
    stateful: bool
    integrates_rates: bool
    path: Path

    @property
    def identity(self) -> dict[str, Any]:
        """Parameter values that make the effect pass its input through unchanged (every
        parameter that declares IDENTITY); empty when the effect has no neutral setting."""
        return {p.name: p.identity for p in self.params if p.identity is not None}

    def to_json(self) -> dict:
        """A JSON-ready dict of this entry (for ``echoel effects --json``)."""
        return {
            "name": self.name, "category": self.category, "tags": list(self.tags),
            "description": self.description, "step_bound": self.step_bound,
            "stateful": self.stateful, "integrates_rates": self.integrates_rates,
            "params": [{"name": p.name, "type": p.type, "default": _jsonable(p.default),
                        "min": _jsonable(p.min), "max": _jsonable(p.max),
                        "identity": _jsonable(p.identity), "label": p.label,
                        "choices": [list(c) for c in p.choices]} for p in self.params],
        }


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _param(inp: IsfInput) -> ParamInfo:
    choices: tuple[tuple[int, str], ...] = ()
    if inp.type == "long" and inp.values:
        labels = inp.labels or tuple(str(v) for v in inp.values)
        choices = tuple(zip(inp.values, labels, strict=True))
    return ParamInfo(inp.name, inp.type, inp.default, inp.min, inp.max, inp.identity,
                     inp.label or inp.name, choices)


def _step_bound(path: Path) -> float | None:
    # STEP_BOUND is our own header key: the ISF model keeps only ISF's keys, so read it here.
    split = split_header(read_shader_file(path), str(path))
    value = (split.header or {}).get("STEP_BOUND")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= 1:
        raise EffectCatalogError(f"{path}: STEP_BOUND must be a number in (0, 1], got {value!r}")
    return float(value)


def effect_info(shader: IsfShader, name: str, category: str) -> EffectInfo:
    """The catalogue entry of a loaded shader. Any thread (reads the file for STEP_BOUND)."""
    params = tuple(_param(i) for i in shader.inputs if not i.is_image)
    return EffectInfo(name, category, tuple(shader.categories), shader.description, params,
                      _step_bound(shader.path), is_stateful(shader),
                      PHASES_TARGET in persistent_targets(shader), shader.path)


def list_effects(root: Path = REPO_SHADERS, category: str | None = None) -> list[EffectInfo]:
    """Every warp and effect under ``root`` (default: the bundled shaders/), warps first, by name.

    Any thread; parses every file, so call it at start-up or from the CLI, not in a frame.

    Raises:
        EffectCatalogError: ``category`` is not one of CATEGORIES.
        ShaderSourceError: a shader file is broken (naming the file and line).
    """
    if category is not None and category not in CATEGORIES:
        raise EffectCatalogError(f"unknown category {category!r}; allowed: {', '.join(CATEGORIES)}")
    out = []
    for folder, cat in EFFECT_FOLDERS.items():
        if category is not None and cat != category:
            continue
        for path in sorted((root / folder).glob("*.fs")):
            name = f"{folder}/{path.stem}"
            out.append(effect_info(load_isf(path), name, cat))
    return out


def find_effect(name: str, effects: Sequence[EffectInfo]) -> EffectInfo:
    """The entry called ``name`` (``"ripple"`` works when only one folder has it).

    Raises EffectCatalogError with close matches when there is none or the short name is
    ambiguous. Any thread.
    """
    import difflib

    exact = [e for e in effects if e.name == name]
    if exact:
        return exact[0]
    short = [e for e in effects if e.name.split("/", 1)[1] == name]
    if len(short) == 1:
        return short[0]
    if len(short) > 1:
        raise EffectCatalogError(f"{name!r} is ambiguous: {', '.join(e.name for e in short)}")
    names = [e.name for e in effects]
    close = difflib.get_close_matches(name, names + [n.split("/", 1)[1] for n in names], n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise EffectCatalogError(f"no effect named {name!r}{hint} (`echoel effects` lists them)")


def format_listing(effects: Sequence[EffectInfo], verbose: bool = True) -> str:
    """The text `echoel effects` prints: one block per effect, or one line each when not
    ``verbose``. Any thread."""
    lines: list[str] = []
    counts = {cat: sum(e.category == cat for e in effects) for cat in CATEGORIES}
    for e in effects:
        first = e.description.split(". ")[0].rstrip(".")
        if not verbose:
            lines.append(f"{e.name}\t{e.category}\t{first}")
            continue
        lines.append(f"{e.name}  [{e.category}{', ' + ', '.join(e.tags[1:]) if len(e.tags) > 1 else ''}]")
        lines.append(f"    {e.description}")
        for p in e.params:
            extra = f", neutral {_fmt(p.identity)}" if p.identity is not None else ""
            lines.append(f"    {p.name:<14} {p.type:<7} {p.range_text}  (default {_fmt(p.default)}{extra})"
                         f"  {p.label}")
        lines.append("")
    summary = ", ".join(f"{n} {cat}{'s' if n != 1 else ''}" for cat, n in counts.items() if n)
    if verbose:
        lines.append(f"{summary} (use one in a scene as [[layers.fx]] shader = \"<name>\")")
    return "\n".join(lines) + "\n"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``effects`` on the ``echoel`` sub-command parsers; returns the new parser."""
    p = subparsers.add_parser(
        "effects", help="list the bundled warps and effects with their parameters",
        description=_DESCRIPTION)
    _add_arguments(p)
    p.set_defaults(func=cmd_effects)
    return p


_DESCRIPTION = ("List every bundled warp (shaders/warps) and colour/stylise effect (shaders/effects): "
                "category, description, and each parameter's type, range, default and neutral value. "
                "--sheet renders a contact sheet of all of them (needs OpenGL).")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME", help="only these effects (e.g. ripple, warps/tunnel)")
    p.add_argument("--category", choices=CATEGORIES, help="only warps or only effects")
    p.add_argument("--brief", action="store_true", help="one tab-separated line per effect")
    p.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    p.add_argument("--sheet", metavar="PNG", help="render a contact sheet of every listed effect "
                   "applied to the standard test picture into PNG")


def cmd_effects(args: argparse.Namespace) -> int:
    """Run ``echoel effects``. Main thread; --sheet creates a GL context of its own."""
    effects = list_effects(category=args.category)
    if args.names:
        effects = [find_effect(n, effects) for n in args.names]
    if args.sheet:
        from live.render.effects_preview import write_contact_sheet

        path = write_contact_sheet(Path(args.sheet), [e.name for e in effects])
        print(f"wrote {path} ({len(effects)} effects)")
        return 0
    if args.json:
        print(json.dumps([e.to_json() for e in effects], indent=2))
    else:
        print(format_listing(effects, verbose=not args.brief), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m live.render.effects_catalog``: the same as ``echoel effects`` (what the make
    target for docs/effects.png runs). Main thread. A user error prints one line, exit 2."""
    parser = argparse.ArgumentParser(prog="python -m live.render.effects_catalog", description=_DESCRIPTION)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_effects(args)
    except (EffectCatalogError, ShaderSourceError, OSError) as exc:
        print(f"echoel effects: {exc}", file=sys.stderr)
        return 2


__all__ = ["CATEGORIES", "EFFECT_FOLDERS", "PHASES_TARGET", "EffectCatalogError", "EffectInfo",
           "ParamInfo", "ShaderSourceError", "add_parser", "cmd_effects", "effect_info", "find_effect",
           "format_listing", "is_stateful", "list_effects", "main", "persistent_targets"]


if __name__ == "__main__":
    sys.exit(main())
