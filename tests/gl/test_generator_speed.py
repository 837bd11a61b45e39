"""Bundled generators whose motion rate is a parameter: mapping that rate never makes them jump.

A generator that draws its motion as TIME x speed moves every position by (step x TIME) when the
speed changes: ten minutes into a show a 1 % nudge of a mapped speed (a fader, an audio level)
leaps the picture seconds ahead. The generators integrate their rates frame by frame instead
(shaders/common/phase.glsl), so a step changes how fast things move from now on, not where they
are. Each test runs a generator for ten minutes of show time (one long first frame, as
effects_preview does, then one frame at 30 fps) and steps a rate parameter by 1 % of its range on
the last frame:

- the picture changes by less than STEP_BOUND (mean absolute change of the colour over black);
- rendering the whole run at the stepped rate, which is what TIME x stepped rate would show on
  that frame, changes it by more than STEP_BOUND: so the old formulation fails this test, and a
  generator that ignored its rate could not pass it by accident.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import moderngl
import numpy as np
import pytest

from live.render.context import release_framebuffers
from live.render.effects_catalog import PHASES_TARGET, persistent_targets
from live.render.effects_preview import PREVIEW_FPS, preview_engine_values
from live.render.isf import IsfShader, load_isf
from live.render.program import IsfRenderer

pytestmark = pytest.mark.gl

GENERATORS = Path(__file__).resolve().parents[2] / "shaders" / "generators"
SIZE = (96, 54)
#: Show time of the stepped frame: about ten minutes, chosen so that no 1 % step moves a
#: periodic pattern (rings, grid cells, hue turns) by a whole number of periods, which would
#: hide the old formulation's jump.
SHOW_TIME = 612.7
#: Largest mean absolute change (0..1 colour units) one 1 % step may make: 3/255.
STEP_BOUND = 3.0 / 255.0
#: Input names that are rates (units per second) rather than positions or sizes.
RATE_NAME = re.compile(r"^(speed|spin|drift|scroll)$|_speed$")


def _rate_params(shader: IsfShader) -> list:
    return [i for i in shader.inputs if i.type == "float" and RATE_NAME.search(i.name)]


SHADERS = [load_isf(path) for path in sorted(GENERATORS.glob("*.fs"))]
CASES = [(s, p.name) for s in SHADERS for p in _rate_params(s)]
CASE_IDS = [f"{Path(s.path).stem}.{name}" for s, name in CASES]


class _GeneratorRun:
    """One generator rendered over ten minutes of show time, with synthetic audio. Render thread."""

    def __init__(self, ctx: moderngl.Context, shader: IsfShader) -> None:
        self.ctx = ctx
        self.shader = shader
        self.renderer = IsfRenderer(ctx, shader)
        self.texture = ctx.texture(SIZE, 4, dtype="f4")
        self.fbo = ctx.framebuffer(color_attachments=[self.texture])
        # A spectrum with structure all round the ring (a falling slope with ripples) and a
        # waveform, so rotating or scrolling audio pictures shows.
        bins = np.arange(512, dtype=np.float32)
        fft = 0.85 - 0.5 * bins / 512.0 + 0.12 * np.sin(bins * 0.37)
        wave = 0.5 + 0.3 * np.sin(bins * 2.0 * math.pi * 3.0 / 512.0)
        self.fft = ctx.texture((512, 1), 1, np.clip(fft, 0, 1).astype(np.float32).tobytes(), dtype="f4")
        self.wave = ctx.texture((512, 1), 1, wave.astype(np.float32).tobytes(), dtype="f4")

    def render(self, first: dict, last: dict) -> np.ndarray:
        """Colour over black of the frame at SHOW_TIME; ``first`` params for the long first frame
        (0 .. SHOW_TIME - 1/fps), ``last`` for the frame at SHOW_TIME."""
        for name in persistent_targets(self.shader):
            texture = self.renderer.target_texture(name)
            if texture is not None:
                # Start the layer afresh: clear the front texture, the one passes read.
                fbo = self.ctx.framebuffer(color_attachments=[texture])
                fbo.clear(0.0, 0.0, 0.0, 0.0)
                release_framebuffers(self.ctx, fbo)
        defaults = self.shader.defaults()
        for frame, params in enumerate((first, last)):
            t = SHOW_TIME - (1 - frame) / PREVIEW_FPS
            engine = preview_engine_values(t, frame)
            engine.timedelta = t if frame == 0 else 1.0 / PREVIEW_FPS
            engine.audio_fft, engine.audio_wave = self.fft, self.wave
            values = dict(defaults)
            values.update(self.shader.validate_params(params))
            self.renderer.render(self.fbo, SIZE, values, {}, engine)
        rgba = np.frombuffer(self.fbo.read(components=4, dtype="f4"), np.float32).reshape(SIZE[1], SIZE[0], 4)
        return np.clip(rgba[..., :3], 0.0, 1.0) * np.clip(rgba[..., 3:4], 0.0, 1.0)

    def release(self) -> None:
        self.renderer.release()
        release_framebuffers(self.ctx, self.fbo, self.texture, self.fft, self.wave)


def _change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_every_generator_with_a_rate_is_covered_and_keeps_its_phases():
    # Guards the case list: the rates found are the ones the generators are known to have, and
    # each generator with one integrates it in a "phases" target (common/phase.glsl).
    found = {f"{Path(s.path).stem}.{name}" for s, name in CASES}
    assert found == {
        "clouds.speed", "gradient.speed", "metaballs.speed", "plasma.speed", "plasma.hue_speed",
        "spectrum_rings.spin", "starfield.speed", "synthgrid.speed", "tunnel.speed",
        "voronoi.speed", "voronoi.drift"}
    for shader in {id(s): s for s, _ in CASES}.values():
        assert PHASES_TARGET in persistent_targets(shader), f"{shader.path}: no {PHASES_TARGET} target"


@pytest.mark.parametrize(("shader", "name"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("fraction", [None, 0.9], ids=["default", "fast"])
def test_a_one_percent_rate_step_ten_minutes_in_changes_the_picture_only_a_little(ctx, shader, name, fraction):
    param = next(i for i in shader.inputs if i.name == name)
    lo, hi = float(param.min), float(param.max)
    a = float(param.default) if fraction is None else lo + fraction * (hi - lo)
    step = 0.01 * (hi - lo)
    b = a + step if a + step <= hi else a - step
    run = _GeneratorRun(ctx, shader)
    try:
        before = run.render({name: a}, {name: a})
        stepped = run.render({name: a}, {name: b})
        as_if_always = run.render({name: b}, {name: b})
    finally:
        run.release()
    assert np.isfinite(stepped).all()
    change = _change(before, stepped)
    assert change < STEP_BOUND, (
        f"{shader.path}: 10 minutes in, a 1% step of {name} {a:.4g} -> {b:.4g} changed the picture "
        f"by {change * 255:.2f}/255 (bound {STEP_BOUND * 255:.0f}/255)")
    # What TIME x rate shows after the step: the jump this test exists to catch.
    jump = _change(before, as_if_always)
    assert jump > STEP_BOUND, (
        f"{shader.path}: running at {name} = {b:.4g} for ten minutes instead of {a:.4g} changed the "
        f"picture by only {jump * 255:.2f}/255, so this case cannot tell integrated from TIME x rate")
