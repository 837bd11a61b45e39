"""Every bundled warp and effect, over the standard test picture (headless EGL, float readback).

For each effect (live/render/effects_catalog.list_effects):
- a golden image at fixed time and parameters (96x54, tests/golden/effects/; regenerate with
  ECHOEL_REGEN_GOLDEN=1 and look at the images before committing);
- where the header declares IDENTITY values, the output equals the input within 1/255;
- a step of 1 % of any float parameter's range (each component of a point2D or colour) on the
  last frame changes the picture by at most the header's STEP_BOUND (mean absolute change,
  0..1 units), from the default and from 10 %, 50 % and 90 % of the range, and ten minutes into
  a show as at its start, so audio jitter on a mapped parameter never makes the picture pop;
- no NaN or inf, and nothing outside 0..1, at MIN and MAX of every parameter (one at a time,
  and all together);
- every declared parameter changes the picture somewhere in its range.

Effects that keep a history (feedback, slit-scan, shockwave) render a run of frames over a
moving picture; the others one frame of the still picture. Audio levels and tempo are fixed
(effects_preview.PREVIEW_AUDIO), so audio-reactive parts are exercised too.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from live.render.effects_catalog import EffectInfo, ParamInfo, list_effects
from live.render.effects_preview import (
    PREVIEW_TIME,
    EffectPreview,
    standard_picture,
    to_rgb8,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from imagecmp import Tolerance, assert_image_matches

pytestmark = pytest.mark.gl

SIZE = (96, 54)
REFERENCES = Path(__file__).resolve().parents[1] / "golden" / "effects"
EFFECTS = list_effects()
IDS = [e.name for e in EFFECTS]
WITH_IDENTITY = [e for e in EFFECTS if e.identity]

#: Settings of the other parameters (and engine values) under which a parameter's influence
#: shows, where the defaults hide it. Each entry says why.
CONTEXT: dict[str, dict[str, dict]] = {
    # The dots only appear once blocks are 1.5 px or more; 8 px at 360 lines is 1.2 px here.
    "effects/pixelate": {"dots": {"params": {"cell": 32.0}}},
    # The edge mode only shows where the zoom looks outside the picture: zoomed out.
    "warps/zoom": {"edge": {"params": {"zoom": 0.5}}},
    # "Moving" grain differs from still grain only after the first frame.
    "effects/film_grain": {"moving": {"engine": {"frame_index": 5}}},
    # The manual trigger shows when onsets do not fire the wave ("Trigger only").
    "warps/shockwave": {"trigger": {"params": {"source": 2}}},
}


# ---- shared renders -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def previews(gl_ctx):
    """One EffectPreview per effect for the module (compiling once), released at the end."""
    made: dict[str, EffectPreview] = {}

    def get(effect: EffectInfo) -> EffectPreview:
        if effect.name not in made:
            made[effect.name] = EffectPreview(gl_ctx, effect.path, SIZE, moving=effect.stateful)
        return made[effect.name]

    yield get
    for preview in made.values():
        preview.release()


def run(preview: EffectPreview, params: dict | None = None, engine: dict | None = None) -> np.ndarray:
    return preview.render(params or {}, engine=engine)


def mean_change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def assert_valid(out: np.ndarray, what: str) -> None:
    assert np.isfinite(out).all(), f"{what}: NaN or inf in the output"
    low, high = float(out.min()), float(out.max())
    assert low >= -1e-3 and high <= 1.0 + 1e-3, f"{what}: values {low:.4f}..{high:.4f} outside 0..1"


# ---- parameter values -----------------------------------------------------------------------


def _components(p: ParamInfo) -> int:
    return {"float": 1, "point2D": 2, "color": 4}.get(p.type, 0)


def _range(p: ParamInfo, i: int) -> tuple[float, float]:
    """Range of component i (colours without MIN/MAX are 0..1)."""
    if p.type == "float":
        return float(p.min), float(p.max)
    lo = p.min[i] if p.min is not None else 0.0
    hi = p.max[i] if p.max is not None else 1.0
    return float(lo), float(hi)


def _with(p: ParamInfo, i: int, value: float):
    if p.type == "float":
        return value
    items = list(p.default)
    items[i] = value
    return tuple(items)


def _component(p: ParamInfo, i: int) -> float:
    return float(p.default) if p.type == "float" else float(p.default[i])


def limit_values(p: ParamInfo) -> list:
    """The extreme values of a parameter (MIN and MAX, per component together)."""
    if p.type == "float":
        return [p.min, p.max]
    if p.type in ("point2D", "color"):
        n = _components(p)
        return [tuple(_range(p, i)[0] for i in range(n)), tuple(_range(p, i)[1] for i in range(n))]
    if p.type == "long":
        values = [v for v, _ in p.choices] or [int(p.min), int(p.max)]
        return [min(values), max(values)]
    return [False, True]


def sweep_values(p: ParamInfo) -> list:
    """Values across a parameter's range, for the "does something" test."""
    if p.type == "long":
        return [v for v, _ in p.choices] or list(range(int(p.min), int(p.max) + 1))
    if p.type in ("bool", "event"):
        return [False, True]
    if p.type == "float":
        lo, hi = float(p.min), float(p.max)
        return sorted({lo, hi, float(p.default), lo + 0.5 * (hi - lo), lo + 0.25 * (hi - lo)})
    out = [p.default]
    for i in range(_components(p)):
        lo, hi = _range(p, i)
        out += [_with(p, i, lo), _with(p, i, hi), _with(p, i, lo + 0.5 * (hi - lo))]
    return out


# ---- the catalogue --------------------------------------------------------------------------


#: The issue's list, by file name (several names may cover one item, e.g. fisheye/bulge).
REQUIRED_WARPS = [
    "swirl", "ripple", "wave", "zoom", "tunnel", "polar", "inverse_polar", "kaleidoscope", "mirror",
    "fisheye", "pinch", "spherize", "twist", "shear", "transform", "domain_warp", "displace",
    "feedback", "stretch", "slit_scan", "smear", "tile", "hex_tile", "lens", "heat_haze", "liquid",
    "vortex", "shockwave", "beat_bounce", "rgb_warp", "glitch_blocks", "scanline_jitter", "vhs",
    "mosaic", "droste", "tunnel_3d", "sphere_map",
]
REQUIRED_EFFECTS = [
    "hue_rotate", "saturation", "posterise", "threshold", "invert", "gradient_map", "bloom", "blur",
    "sharpen", "edge_detect", "chromatic_aberration", "film_grain", "vignette", "trails", "strobe",
    "levels", "duotone", "dither", "halftone", "pixelate",
]


def test_the_library_has_40_warps_and_20_effects_including_the_issue_list():
    warps = {e.name.split("/")[1] for e in EFFECTS if e.category == "warp"}
    effects = {e.name.split("/")[1] for e in EFFECTS if e.category == "effect"}
    assert len(warps) >= 40 and len(effects) >= 20, (len(warps), len(effects))
    assert not set(REQUIRED_WARPS) - warps
    assert not set(REQUIRED_EFFECTS) - effects


@pytest.mark.parametrize("effect", EFFECTS, ids=IDS)
def test_header_declares_a_step_bound_a_description_and_ranges(effect):
    assert effect.step_bound is not None, f"{effect.name}: no STEP_BOUND in the header"
    assert len(effect.description) > 40
    assert effect.params, f"{effect.name} has no parameters"
    for p in effect.params:
        assert p.label and p.label != p.name, f"{effect.name}.{p.name}: no LABEL"
        if p.type in ("float", "point2D"):
            assert p.min is not None and p.max is not None, f"{effect.name}.{p.name}: no MIN/MAX"
        if p.type == "long":
            assert p.choices, f"{effect.name}.{p.name}: a long needs VALUES"


# ---- per effect -----------------------------------------------------------------------------


@pytest.mark.golden
@pytest.mark.parametrize("effect", EFFECTS, ids=IDS)
def test_matches_golden_image(ctx, previews, effect):
    out = run(previews(effect))
    # Straight alpha over mid grey, so transparent areas show as grey.
    reference = REFERENCES / f"{effect.name.replace('/', '_')}.png"
    assert_image_matches(to_rgb8(out, background=0.5), reference, Tolerance())


@pytest.mark.parametrize("effect", WITH_IDENTITY, ids=[e.name for e in WITH_IDENTITY])
def test_identity_values_pass_the_picture_through(ctx, previews, effect):
    preview = previews(effect)
    out = run(preview, effect.identity)
    want = preview.input_picture(PREVIEW_TIME)
    worst = float(np.abs(out - want).max())
    assert worst <= 1.0 / 255.0, f"{effect.name} at {effect.identity}: differs by {worst * 255:.2f}/255"


def _step_cases(effect: EffectInfo):
    for p in effect.params:
        for i in range(_components(p)):
            lo, hi = _range(p, i)
            span = hi - lo
            bases = [_component(p, i)] + [lo + f * span for f in (0.1, 0.5, 0.9)]
            for base in bases:
                step = 0.01 * span if base + 0.01 * span <= hi + 1e-9 else -0.01 * span
                yield p, i, base, base + step


@pytest.mark.parametrize("effect", EFFECTS, ids=IDS)
def test_a_one_percent_step_changes_the_picture_only_a_little(ctx, previews, effect):
    preview = previews(effect)
    # The step lands on the last frame of a run, as one jittery frame of a mapping would; an
    # effect that integrates rates gets a first frame to bring its phases up to time.
    frames = None if effect.stateful else (2 if effect.integrates_rates else 1)
    worst = (0.0, "")
    for p, i, a, b in _step_cases(effect):
        base = {p.name: _with(p, i, a)}
        before = preview.render(base, frames)
        after = preview.render(base, frames, final_params={p.name: _with(p, i, b)})
        change = mean_change(before, after)
        if change > worst[0]:
            worst = (change, f"{p.name}[{i}] {a:.4g} -> {b:.4g}")
    assert worst[0] <= effect.step_bound, (
        f"{effect.name}: a 1% step of {worst[1]} changed the picture by {worst[0]:.4f} "
        f"(STEP_BOUND {effect.step_bound})")


@pytest.mark.parametrize("effect", EFFECTS, ids=IDS)
def test_a_step_ten_minutes_into_a_show_is_as_small_as_at_the_start(ctx, previews, effect):
    # A rate written as TIME x rate would jump by (step x TIME) here; integrated rates
    # (common/phase.glsl) move on from where they are.
    preview = previews(effect)
    frames = None if effect.stateful else (2 if effect.integrates_rates else 1)
    for p in effect.params:
        for i in range(_components(p)):
            lo, hi = _range(p, i)
            a = _component(p, i)
            b = a + 0.01 * (hi - lo) if a + 0.01 * (hi - lo) <= hi + 1e-9 else a - 0.01 * (hi - lo)
            base = {p.name: _with(p, i, a)}
            before = preview.render(base, frames, time=600.0)
            after = preview.render(base, frames, time=600.0, final_params={p.name: _with(p, i, b)})
            change = mean_change(before, after)
            assert change <= effect.step_bound, (
                f"{effect.name}: 10 minutes in, a 1% step of {p.name}[{i}] {a:.4g} -> {b:.4g} changed "
                f"the picture by {change:.4f} (STEP_BOUND {effect.step_bound})")


@pytest.mark.parametrize("effect", EFFECTS, ids=IDS)
def test_no_nan_or_out_of_range_values_at_parameter_limits(ctx, previews, effect):
    preview = previews(effect)
    for p in effect.params:
        for value in limit_values(p):
            assert_valid(run(preview, {p.name: value}), f"{effect.name} with {p.name}={value}")
    for end in (0, 1):
        values = {p.name: limit_values(p)[end] for p in effect.params}
        assert_valid(run(preview, values), f"{effect.name} with every parameter at its {('MIN', 'MAX')[end]}")


@pytest.mark.parametrize("effect", EFFECTS, ids=IDS)
def test_every_parameter_changes_the_picture_somewhere_in_its_range(ctx, previews, effect):
    preview = previews(effect)
    inert = []
    for p in effect.params:
        context = CONTEXT.get(effect.name, {}).get(p.name, {})
        renders = [run(preview, {**context.get("params", {}), p.name: v}, context.get("engine"))
                   for v in sweep_values(p)]
        spread = max(float(np.abs(a - b).max()) for a, b in itertools.combinations(renders, 2))
        if spread < 4.0 / 255.0:
            inert.append(f"{p.name} (largest difference {spread * 255:.2f}/255)")
    assert not inert, f"{effect.name}: no visible effect of {', '.join(inert)}"


# ---- the strobe and the flash guard ---------------------------------------------------------


def _relative_luminance(rgb8: np.ndarray) -> float:
    c = rgb8[..., :3].astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float((linear @ np.array([0.2126, 0.7152, 0.0722])).mean())


def _transition_times(lum: list[float], fps: float, delta: float = 0.1, dark: float = 0.8) -> list[float]:
    """Times of whole-screen luminance transitions (WCAG 2.3.1: a change of 0.1 or more whose
    darker end is below 0.8), each measured from the end of the previous one."""
    times, extreme, direction = [], lum[0], 0
    for i, y in enumerate(lum[1:], start=1):
        if (direction > 0 and y > extreme) or (direction < 0 and y < extreme):
            extreme = y  # the same run goes on: the next reversal counts from its end
            continue
        if abs(y - extreme) >= delta and min(y, extreme) < dark:
            times.append(i / fps)
            direction = 1 if y > extreme else -1
            extreme = y
    return times


def _max_per_window(times: list[float], window: float = 1.0) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


def test_strobe_is_limited_to_three_flashes_per_second_by_the_flash_guard(ctx):
    from live.render.context import release_framebuffers
    from live.render.safety import FlashGuard

    size, fps = (64, 36), 30.0
    dark = np.zeros((size[1], size[0], 4), np.float32)
    dark[..., :3], dark[..., 3] = 0.08, 1.0
    # Four flashes per beat at 120 BPM: eight a second, hard cut, full strength.
    params = {"rate": 3, "amount": 1.0, "softness": 0.0, "duty": 0.5}
    src = ctx.texture(size, 4, dtype="f1")
    out = ctx.texture(size, 4, dtype="f1")
    out_fbo = ctx.framebuffer(color_attachments=[out])
    guard = FlashGuard(ctx, size, fps_hint=fps)
    raw, shown = [], []
    try:
        with EffectPreview(ctx, "effects/strobe", size, picture=dark) as preview:
            for i in range(int(2.5 * fps)):
                frame = to_rgb8(preview.render(params, time=i / fps))
                raw.append(_relative_luminance(frame))
                rgba = np.concatenate([frame, np.full(frame.shape[:2] + (1,), 255, np.uint8)], axis=-1)
                src.write(np.ascontiguousarray(rgba[::-1]).tobytes())
                guard.process(src, out_fbo, 1.0 / fps)
                data = np.frombuffer(out_fbo.read(components=4, alignment=1), np.uint8)
                shown.append(_relative_luminance(data.reshape(size[1], size[0], 4)))
    finally:
        guard.release()
        release_framebuffers(ctx, out_fbo, out, src)
    raw_peak = _max_per_window(_transition_times(raw, fps))
    shown_times = _transition_times(shown, fps)
    assert raw_peak >= 12, f"the strobe itself should flash fast ({raw_peak} transitions/s)"
    assert _max_per_window(shown_times) <= 6, "more than 3 flashes in a second got through the guard"
    assert len(shown_times) >= 2, "the guard should damp the strobe, not freeze the picture"


# ---- displacement by another layer ----------------------------------------------------------


def _scene_with_map(tmp_path: Path, map_value: int) -> Path:
    from live.render.video import write_png

    write_png(tmp_path / "picture.png", to_rgb8(standard_picture(64, 36)))
    write_png(tmp_path / "map.png", np.full((36, 64, 3), map_value, np.uint8))
    scene = tmp_path / "displace.toml"
    scene.write_text("""schema = 1
[scene]
name = "displace-by-a-layer"

[[layers]]
id = "map"
kind = "image"
source = "map.png"
opacity = 0.0          # hidden: only the displacement reads it
params = { fit = "stretch" }

[[layers]]
id = "picture"
kind = "image"
source = "picture.png"
params = { fit = "stretch" }

[[layers]]
id = "shift"
kind = "effect"
source = "warps/displace"
input = "map"
params = { amount = 0.5555556, midpoint = 0.0, angle = 0.25, bass_boost = 0.0 }
""")
    return scene


@pytest.mark.parametrize("map_value,shift_px", [(255, 4), (0, 0)], ids=["white-map", "black-map"])
def test_displace_moves_the_picture_below_by_the_brightness_of_the_named_layer(ctx, tmp_path, map_value, shift_px):
    from live.clock import ManualClock
    from live.engine import Engine
    from live.scene import load_scene

    picture = to_rgb8(standard_picture(64, 36))
    engine = Engine(ctx, (64, 36), ManualClock())
    try:
        engine.load_scene(load_scene(_scene_with_map(tmp_path, map_value)))
        engine.tick()
        out = engine.read_rgba()[..., :3]
    finally:
        engine.release()
    # A white map moves the picture up by 0.2 x 0.5556 = 1/9 of its height (4 px): the row r
    # (from the top) shows picture row r + 4. A black map (at midpoint 0) moves nothing. The
    # bottom rows, which look below the picture, are mirrored there and left out.
    rows = 36 - 5
    got = out[:rows].astype(int)
    want = picture[shift_px:shift_px + rows].astype(int)
    assert np.abs(got - want).max() <= 2


# ---- catalogue, CLI and contact sheet -------------------------------------------------------


def _effects_cli(argv: list[str]) -> int:
    import argparse

    from live.render.effects_catalog import add_parser

    parser = argparse.ArgumentParser(prog="echoel")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_effects_command_lists_every_effect_with_category_and_parameter_ranges(capsys):
    assert _effects_cli(["effects"]) == 0
    text = capsys.readouterr().out
    for effect in EFFECTS:
        assert f"{effect.name}  [{effect.category}" in text
    assert "amount         float   0..1  (default 0.4, neutral 0)  Depth (0 = off)" in text  # ripple
    assert "edge           long    0 (Mirror), 1 (Repeat), 2 (Clamp), 3 (Transparent)" in text
    assert text.rstrip().endswith("(use one in a scene as [[layers.fx]] shader = \"<name>\")")


def test_effects_command_filters_and_prints_json(capsys):
    import json

    assert _effects_cli(["effects", "--category", "effect", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {e["name"] for e in listed} == {e.name for e in EFFECTS if e.category == "effect"}
    strobe = next(e for e in listed if e["name"] == "effects/strobe")
    assert {"name": "rate", "type": "long"}.items() <= strobe["params"][1].items()
    assert _effects_cli(["effects", "--brief", "ripple", "warps/tunnel"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["warps/ripple", "warp"], ["warps/tunnel", "warp"]]


def test_echoel_effects_names_an_unknown_effect_with_a_hint_and_exits_2(capsys):
    from live.cli import main

    assert main(["effects", "ripel"]) == 2
    err = capsys.readouterr().err
    assert "no effect named 'ripel'; did you mean 'ripple'" in err and "Traceback" not in err
    assert main(["effects", "--brief", "zoom"]) == 0
    assert capsys.readouterr().out.startswith("warps/zoom\twarp\tZoom: scales the picture")


def test_contact_sheet_shows_the_original_and_each_effect_labelled(ctx):
    from live.render.effects_preview import SHEET_TILE, render_contact_sheet

    sheet = render_contact_sheet(ctx, ["effects/invert", "warps/mirror"])
    w, h = SHEET_TILE
    original = sheet[6:6 + h, 6:6 + w].astype(int)
    inverted = sheet[6:6 + h, 6 + w + 6:6 + 2 * w + 6].astype(int)
    assert np.abs(original - to_rgb8(standard_picture(w, h, PREVIEW_TIME)).astype(int)).max() <= 1
    # Invert at its defaults is the photographic negative.
    assert np.abs(inverted - (255 - original)).max() <= 2
    # A name is written under each tile (light text on the dark sheet).
    assert sheet[6 + h:6 + h + 10, 6:6 + w].max() > 150
