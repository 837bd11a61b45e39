"""``echoel import``: bring ISF files and Shadertoys into the user shader library, tested first.

Nothing that fails reaches the show: each file or folder is compiled and test-rendered in a child
process with its own headless GL context and a timeout (ISF files through the project's
:class:`~live.render.validate.ShaderValidator`, Shadertoys through :class:`ShaderChecker`), and
only then copied into ``~/.local/share/echoel/shaders`` (with a companion ``.vs`` and IMPORTED
images, or the whole Shadertoy folder). Scenes then name the shader by the name printed
(``source = "bad_tv"``; ``kind = "shadertoy"`` for Shadertoys).

The same module holds the compatibility check of ``benchmarks/isf_compat.py``: render a shader
for a number of frames while driving its inputs the way a performer would (floats and points
animated, events pulsed, a test picture on image inputs, the analysis of a test signal on audio
inputs) and classify it as ``nonconstant``, ``constant``, ``compile_error``,
``unsupported:<feature>``, ``timeout`` or ``strict_reject`` (the translated GLSL refused by
``glslangValidator``, which is stricter than Mesa and closer to what macOS and NVIDIA accept).

Threads: :class:`ShaderChecker` and :func:`import_paths` may be used from any thread except the
render thread (they block for up to the timeout per file). ``_Checker`` runs only inside the
child process (``python -m live.render.importer --worker``).
"""

from __future__ import annotations

import argparse
import colorsys
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from live.render.validate import ValidatorError, _Died, _Timeout, _Worker, serve_worker
from live.render.vsa import is_vsa_file

#: Default seconds one file may take to load, compile and render its frames.
DEFAULT_TIMEOUT = 20.0
#: The benchmark's render: 30 frames at 64x64 (issue 9, "Measured by").
DEFAULT_FRAMES = 30
DEFAULT_SIZE = (64, 64)
#: A picture counts as changing when a value moves by more than one 8-bit step.
THRESHOLD = 1.0 / 255.0
#: Frame rate of the simulated performance (TIME advances 1/FPS per frame).
FPS = 30.0
#: Wall-clock start of the simulated performance (DATE's seconds advance with TIME from
#: there): an evening show, not midnight, where DATE.w = 0 and log(DATE.w) is -infinity.
SHOW_START = (2026, 6, 21, 21 * 3600.0)
#: Statuses of a compatibility check (``unsupported`` is followed by ``:<feature>``).
STATUSES = ("nonconstant", "constant", "compile_error", "unsupported", "timeout", "strict_reject")
#: Suffixes of ISF files; ``.vs``/``.vert`` companions travel with their fragment shader.
ISF_SUFFIXES = (".fs", ".frag", ".glsl")
#: Suffixes searched for in folders (``.glsl`` files there are usually #include files).
ISF_FOLDER_SUFFIXES = (".fs", ".frag")
GLSLANG = "glslangValidator"

_NAME_RE = re.compile(r"[^a-z0-9_]+")


class ShaderImportError(ValueError):
    """A path given to ``echoel import`` cannot be imported at all (missing, not a shader)."""


# --------------------------------------------------------------------------------------------
# What a performer does to a shader (pure functions, any thread)
# --------------------------------------------------------------------------------------------


def _triangle(x: float) -> float:
    """0 -> 1 -> 0 over x in 0..1, repeating."""
    x = x % 1.0
    return 2 * x if x < 0.5 else 2 - 2 * x


def _swing(lo: float, hi: float, default: float, p: float) -> float:
    """A knob turned from its default up to ``hi``, down to ``lo`` and back, p in 0..1."""
    if p < 0.25:
        return default + (hi - default) * (p / 0.25)
    if p < 0.75:
        return hi + (lo - hi) * ((p - 0.25) / 0.5)
    return lo + (default - lo) * ((p - 0.75) / 0.25)


def drive_isf_inputs(shader: Any, frame: int, frames: int, size: tuple[int, int]) -> dict:
    """Input values for frame ``frame`` of ``frames``, as a performer would move them.

    A performer loads a shader and watches it at its defaults before touching a control, so
    every input keeps its DEFAULT for the first half of the run (shaders that fill feedback
    buffers or count frames get to settle, as on stage); then floats swing from the default
    up to MAX, down to MIN and back; longs step through their VALUES every 3 frames; bools
    toggle every 4 frames; events fire every 5th frame; point2D inputs circle inside
    MIN..MAX, or over the render size in pixels when the file gives no range (ISF's
    convention); point3D inputs (ossia's) swing each axis within MIN..MAX (or a unit around
    the default), a third of a cycle apart; colours cycle through the hues at their default
    alpha. The ``progress`` of
    a transition is the host's, not a control: it runs 0 -> 1 over the whole run. Image
    inputs are not values (the caller binds pictures). Any thread.
    """
    out: dict[str, Any] = {}
    hold = frames // 2
    moving = frame >= hold
    step = frame - hold
    p = step / max(1, frames - hold - 1) if moving else 0.0
    for inp in shader.inputs:
        kind = inp.type
        if kind == "float":
            lo = inp.min if inp.min is not None else min(0.0, inp.default)
            hi = inp.max if inp.max is not None else max(1.0, inp.default)
            if inp.name == "progress" and shader.kind == "transition":
                out[inp.name] = lo + (hi - lo) * frame / max(1, frames - 1)
            else:
                out[inp.name] = _swing(lo, hi, min(max(inp.default, lo), hi), p)
        elif kind == "long":
            if inp.values:
                choices = list(inp.values)
            else:
                lo = int(inp.min) if inp.min is not None else 0
                hi = int(inp.max) if inp.max is not None else max(lo + 3, int(inp.default))
                choices = list(range(lo, hi + 1))[:16]
            start = choices.index(inp.default) if inp.default in choices else 0
            turns = step // 3 + 1 if moving else 0
            out[inp.name] = choices[(start + turns) % len(choices)]
        elif kind == "bool":
            out[inp.name] = bool(inp.default) != (moving and (step // 4) % 2 == 0)
        elif kind == "event":
            out[inp.name] = moving and step % 5 == 2
        elif kind == "point2D":
            if moving:
                (x0, y0), (x1, y1) = point_range(inp, size)
                angle = 2 * math.pi * p
                out[inp.name] = (x0 + (x1 - x0) * (0.5 + 0.35 * math.cos(angle)),
                                 y0 + (y1 - y0) * (0.5 + 0.35 * math.sin(angle)))
            else:
                out[inp.name] = tuple(inp.default)
        elif kind == "point3D":  # ossia's extension: swing each axis like a float knob
            if moving:
                out[inp.name] = tuple(
                    _swing(lo, hi, min(max(d, lo), hi), (p + axis / 3.0) % 1.0)
                    for axis, (d, lo, hi) in enumerate(zip(
                        inp.default, inp.min or [min(0.0, d) - 1.0 for d in inp.default],
                        inp.max or [max(1.0, d) + 1.0 for d in inp.default])))
            else:
                out[inp.name] = tuple(inp.default)
        elif kind == "color":
            if moving:
                r, g, b = colorsys.hsv_to_rgb(p, 0.8, 1.0)
                out[inp.name] = (r, g, b, float(inp.default[3]))
            else:
                out[inp.name] = tuple(inp.default)
    return out


def show_date(t: float) -> tuple[float, float, float, float]:
    """ISF DATE (year, month, day, seconds in the day) ``t`` seconds into the simulated show
    (SHOW_START plus ``t``; a show that crosses midnight is not simulated). Any thread."""
    year, month, day, seconds = SHOW_START
    return (float(year), float(month), float(day), seconds + t)


def point_range(inp: Any, size: tuple[int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The (low, high) corners a point2D input moves within: its MIN/MAX when the file gives
    them, else the render size in pixels (ISF hosts treat unbounded points as pixel positions).
    Any thread."""
    lo = tuple(inp.min) if inp.min is not None else (0.0, 0.0)
    hi = tuple(inp.max) if inp.max is not None else (float(size[0]), float(size[1]))
    return (float(lo[0]), float(lo[1])), (float(hi[0]), float(hi[1]))


def drive_shadertoy_mouse(frame: int, frames: int) -> dict:
    """The mouse of a Shadertoy, dragged in a circle with the button down on alternate thirds
    of the run. Any thread."""
    phase = frame / max(1, frames - 1)
    angle = 2 * math.pi * phase
    return {"mouse_x": 0.5 + 0.35 * math.cos(angle), "mouse_y": 0.5 + 0.35 * math.sin(angle),
            "mouse_down": int(phase * 3) % 2 == 0}


def test_signal(seconds: float, sr: int = 48000) -> np.ndarray:
    """A short deterministic beat at 120 BPM: kick on the beat, noise snare on the off-beat,
    a pulsing three-note chord and sixteenth-note hats. Mono float32 in -1..1. Any thread."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    rng = np.random.default_rng(9)
    beat = t % 0.5
    kick = np.sin(2 * np.pi * (50 + 60 * np.exp(-beat * 30)) * beat) * np.exp(-beat * 12)
    off = (t - 0.25) % 0.5
    snare = rng.standard_normal(n) * np.exp(-off * 25) * 0.4
    sixteenth = t % 0.125
    hats = rng.standard_normal(n) * np.exp(-sixteenth * 120) * 0.15
    hats = np.diff(hats, prepend=0.0)  # crude high-pass
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    chord *= 0.25 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    return np.clip(0.6 * kick + snare + hats + chord, -1, 1).astype(np.float32)


def test_audio_frames(frames: int, fps: float = FPS) -> list:
    """The analysis (live.audio.features.AudioFrame) of :func:`test_signal`, one per frame.

    The signal starts half a second early so levels and spectra are warm on frame 0. Any thread.
    """
    from live.audio.features import FeatureExtractor

    sr = 48000
    lead = 0.5
    signal = test_signal(lead + frames / fps + 0.1, sr)
    extractor = FeatureExtractor(sr=sr)
    extractor.feed(signal[: int(lead * sr)])
    out = []
    step = sr / fps
    for i in range(frames):
        start = int(lead * sr + i * step)
        extractor.feed(signal[start: int(lead * sr + (i + 1) * step)])
        out.append(extractor.frame(1.0 / fps))
    return out


def test_picture(width: int = 64, height: int = 64, variant: int = 0) -> np.ndarray:
    """An opaque, colourful test picture with edges and texture (uint8 RGBA, GL row order):
    colour ramps, a checkerboard and a disc; ``variant`` 1 is a different picture (the end
    image of transitions). Any thread."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(1, width - 1), y / max(1, height - 1)
    checker = ((x // 8 + y // 8) % 2).astype(np.float32)
    disc = (((u - 0.6) ** 2 + (v - 0.4) ** 2) < 0.06).astype(np.float32)
    if variant == 0:
        rgb = np.stack([u, v, 0.5 + 0.5 * checker - 0.3 * disc], axis=-1)
    else:
        rgb = np.stack([1 - v, 0.3 + 0.5 * disc, u * checker], axis=-1)
    rgba = np.concatenate([np.clip(rgb, 0, 1), np.ones((height, width, 1), np.float32)], axis=-1)
    return (rgba * 255 + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class PictureStats:
    """How much the rendered frames vary.

    Attributes:
        max_std: Largest per-channel standard deviation over the pixels of one frame.
        max_change: Largest difference of one pixel value between any two frames.
    """

    max_std: float
    max_change: float
    transparent: bool = False
    hidden_change: float = 0.0

    @property
    def nonconstant(self) -> bool:
        """True when some frame has detail or some pixel changes (above one 8-bit step)."""
        return self.max_std > THRESHOLD or self.max_change > THRESHOLD


def picture_stats(frames: Sequence[np.ndarray]) -> PictureStats:
    """Measure frames given as float RGBA (height, width, 4), straight alpha.

    The statistics are those of the rendered RGBA values themselves (clipped to 0..1; NaN
    counts as 0), as issue 9's measurement defines them. A file whose alpha is 0 everywhere
    still renders its picture, but the compositor, honouring the alpha an ISF file writes as
    VDMX does, shows nothing of it over the layers below: ``transparent`` tells that case
    apart (the checker warns), with ``hidden_change``, the largest spread of its RGB. Any thread.
    """
    raw = [np.clip(np.nan_to_num(np.asarray(f, np.float32), nan=0.0, posinf=1.0, neginf=0.0),
                   0.0, 1.0) for f in frames]
    stack = np.stack(raw)
    max_std = float(stack.reshape(len(raw), -1, 4).std(axis=1).max())
    max_change = float((stack.max(axis=0) - stack.min(axis=0)).max())
    transparent = bool((stack[..., 3] <= 0.0).all())
    # The spread of the colours drawn unseen, over all pixels of all frames, per channel.
    spread = stack[..., :3].reshape(-1, 3)
    hidden = float((spread.max(axis=0) - spread.min(axis=0)).max()) if transparent else 0.0
    return PictureStats(max_std, max_change, transparent, hidden)


# --------------------------------------------------------------------------------------------
# Strict GLSL check
# --------------------------------------------------------------------------------------------


class StrictCheckUnavailable(RuntimeError):
    """glslangValidator is not installed (Debian: glslang-tools)."""


def strict_check(stage: str, source: str, source_map: Any = None, fallback_file: str = "") -> str | None:
    """Compile ``source`` with ``glslangValidator -S <stage>`` (``frag`` or ``vert``).

    Returns None when glslang accepts it, else its first error mapped through ``source_map``
    (a MappedSource) to the shader file and line. Any thread; runs a short subprocess.

    Raises:
        StrictCheckUnavailable: when glslangValidator is not on PATH.
    """
    from live.render.shader_source import compile_error

    exe = shutil.which(GLSLANG)
    if exe is None:
        raise StrictCheckUnavailable("glslangValidator not found (Debian: glslang-tools)")
    with tempfile.TemporaryDirectory(prefix="echoel-strict-") as tmp:
        file = Path(tmp) / f"shader.{stage}"
        file.write_text(source, encoding="utf-8")
        run = subprocess.run([exe, "-S", stage, str(file)], capture_output=True, text=True,
                             timeout=30, check=False)
    if run.returncode == 0:
        return None
    log = "\n".join(line.replace(f"{file}:", "") for line in (run.stdout + run.stderr).splitlines()
                    if "ERROR" in line)
    if source_map is None:
        return " ".join(log.split())[:300] or "glslangValidator refused the shader"
    return str(compile_error(log, source_map, fallback_file, stage))


# --------------------------------------------------------------------------------------------
# The check itself (child process)
# --------------------------------------------------------------------------------------------


def detect_kind(path: Path) -> str | None:
    """"shadertoy" for a Shadertoy folder or JSON export, "isf" for a shader file, else None."""
    from live.render.shadertoy import is_shadertoy_source

    path = Path(path)
    if is_shadertoy_source(path):
        return "shadertoy"
    if path.is_file() and (path.suffix.lower() in ISF_SUFFIXES or is_vsa_file(path)):
        return "isf"  # a vertexshaderart piece (.vs, MODE VERTEX_SHADER_ART) is ISF too
    return None


class _Checker:
    """Loads, compiles and renders shaders in the child's own GL context. Child process only."""

    def __init__(self) -> None:
        from live.render.context import create_headless_context, renderer_name

        self.ctx = create_headless_context()
        self.renderer = renderer_name(self.ctx)
        self._audio: dict[int, list] = {}
        self._textures: dict[tuple, Any] = {}

    def _picture(self, size: tuple[int, int], variant: int) -> Any:
        key = ("picture", size, variant)
        if key not in self._textures:
            import moderngl

            tex = self.ctx.texture(size, 4, test_picture(*size, variant).tobytes())
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._textures[key] = tex
        return self._textures[key]

    def _audio_textures(self, frames: int) -> tuple[list, Any, Any]:
        if frames not in self._audio:
            self._audio[frames] = test_audio_frames(frames)
        if ("audio",) not in self._textures:
            import moderngl

            fft = self.ctx.texture((512, 1), 1, dtype="f4")
            wave = self.ctx.texture((512, 1), 1, dtype="f4")
            for tex in (fft, wave):
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._textures[("audio",)] = (fft, wave)
        fft, wave = self._textures[("audio",)]
        return self._audio[frames], fft, wave

    def check(self, request: dict) -> dict:
        from live.render.context import GLError, check_gl_error
        from live.render.isf import ShaderParamError
        from live.render.shader_source import ShaderSourceError, UnsupportedFeatureError

        path = Path(request["path"])
        kind = request.get("kind") or detect_kind(path) or "isf"
        size = tuple(request.get("size", DEFAULT_SIZE))
        frames = int(request.get("frames", DEFAULT_FRAMES))
        answer: dict[str, Any] = {"status": "", "reason": "", "kind": kind, "warnings": []}
        try:
            if kind == "shadertoy":
                self._check_shadertoy(path, size, frames, request, answer)
            else:
                self._check_isf(path, size, frames, request, answer)
            check_gl_error(self.ctx, f"rendering {path.name}")
        except UnsupportedFeatureError as exc:
            answer.update(status=f"unsupported:{exc.feature}", reason=str(exc))
        except ShaderSourceError as exc:
            answer.update(status="compile_error", reason=str(exc))
        except (ShaderParamError, GLError) as exc:
            answer.update(status="compile_error", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - anything else still means it does not work
            answer.update(status="compile_error", reason=f"{type(exc).__name__}: {exc}")
        finally:
            _ = self.ctx.error
        return answer

    def _strict(self, request: dict, sources: Iterable[tuple[str, str, Any, str]], answer: dict) -> bool:
        if not request.get("strict", True):
            return True
        try:
            for stage, source, source_map, shown in sources:
                problem = strict_check(stage, source, source_map, shown)
                if problem is not None:
                    answer.update(status="strict_reject", reason=problem)
                    return False
        except StrictCheckUnavailable as exc:
            answer["warnings"].append(f"strict check skipped: {exc}")
        return True

    def _targets(self, size: tuple[int, int]) -> list:
        key = ("targets", size)
        if key not in self._textures:
            pairs = []
            for _ in range(2):
                tex = self.ctx.texture(size, 4, dtype="f2")  # the engine's layer buffers
                pairs.append((tex, self.ctx.framebuffer(color_attachments=[tex])))
            self._textures[key] = pairs
        return self._textures[key]

    def _run(self, draw, size, frames, answer, request) -> None:
        """Render ``frames`` frames with ``draw(i, fbo, prev_texture, uniforms)``; classify."""
        from live.render.program import EngineUniforms

        audio, fft, wave = self._audio_textures(frames)
        targets = self._targets(size)
        for _, fbo in targets:
            fbo.clear(0.0, 0.0, 0.0, 0.0)
        uniforms = EngineUniforms(audio_fft=fft, audio_wave=wave)
        pictures = []
        for i in range(frames):
            a = audio[i]
            fft.write(np.ascontiguousarray(a.fft, np.float32))
            wave.write(np.ascontiguousarray(a.wave, np.float32))
            uniforms.time = i / FPS
            uniforms.date = show_date(i / FPS)
            uniforms.timedelta = 0.0 if i == 0 else 1.0 / FPS
            uniforms.frame_index = i
            uniforms.beat = i / FPS * 2.0
            uniforms.beat_phase = uniforms.beat % 1.0
            uniforms.bar = uniforms.beat / 4.0
            uniforms.bar_phase = uniforms.bar % 1.0
            uniforms.rms, uniforms.bass, uniforms.mid, uniforms.treb = a.rms, a.bass, a.mid, a.treb
            uniforms.onset = a.onset
            uniforms.bands = tuple(float(b) for b in a.bands)
            _, fbo = targets[i % 2]
            prev = targets[(i + 1) % 2][0]
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            draw(i, fbo, prev, uniforms)
            self.ctx.finish()  # a runaway shader hangs here, inside the time limit
            data = np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32)
            pictures.append(data.reshape(size[1], size[0], 4))
        stats = picture_stats(pictures)
        answer["max_std"] = round(stats.max_std, 6)
        answer["max_change"] = round(stats.max_change, 6)
        answer["status"] = "nonconstant" if stats.nonconstant else "constant"
        if stats.transparent:
            answer["reason"] = (f"the output is fully transparent (alpha 0 in every pixel of all "
                                f"{frames} frames), so the compositor shows nothing of it over "
                                f"the layers below; its RGB spans "
                                f"{stats.hidden_change * 255:.0f}/255")
            answer["warnings"].append("output alpha is 0 everywhere: the layer is invisible in a "
                                      "scene; write gl_FragColor.a (e.g. 1.0) to show it")
        elif not stats.nonconstant:
            answer["reason"] = (f"no pixel varies by more than 1/255 within or across "
                                f"{frames} frames")

    def _check_isf(self, path: Path, size, frames, request, answer) -> None:
        import moderngl

        from live.render.isf import load_isf
        from live.render.vsa import renderer_for

        roots = [Path(r) for r in request["roots"]] if request.get("roots") else None
        shader = load_isf(path, roots)
        answer["kind"] = shader.kind
        renderer = renderer_for(self.ctx, shader)  # IsfRenderer, or VsaRenderer
        answer["warnings"].extend(shader.warnings)  # after compiling: repairs add remarks
        try:
            shown = shader.display_name
            vertex_file = str(shader.vertex_path) if shader.vertex_path else shown
            if not self._strict(request, [("frag", shader.fragment_source, shader.fragment_map, shown),
                                          ("vert", shader.vertex_source, shader.vertex_map, vertex_file)],
                                answer):
                return
            start, end = self._picture(size, 0), self._picture(size, 1)
            images = {}
            for inp in shader.inputs:
                if inp.type == "image":
                    images[inp.name] = end if inp.name == "endImage" else start

            def draw(i, fbo, prev, uniforms):
                uniforms.prev_frame = prev
                params = drive_isf_inputs(shader, i, frames, size)
                renderer.render(fbo, size, params, images, uniforms)
                self.ctx.enable_only(moderngl.NOTHING)

            self._run(draw, size, frames, answer, request)
        finally:
            renderer.release()

    def _check_shadertoy(self, path: Path, size, frames, request, answer) -> None:
        from live.render.shadertoy import ShadertoyRenderer, load_shadertoy

        shader = load_shadertoy(path)
        answer["warnings"].extend(shader.warnings)
        renderer = ShadertoyRenderer(self.ctx, shader)
        try:
            sources = [("frag", p.fragment_source, p.fragment_map, shader.display_name)
                       for p in shader.passes]
            if not self._strict(request, sources, answer):
                return
            picture = self._picture(size, 0)
            images = {"below": picture, **{layer: picture for layer in shader.layer_inputs}}

            def draw(i, fbo, prev, uniforms):
                renderer.render(fbo, size, drive_shadertoy_mouse(i, frames), images, uniforms)

            self._run(draw, size, frames, answer, request)
        finally:
            renderer.release()


def _worker_main() -> int:
    """Serve check requests on stdin, one JSON object per line. Child process only."""
    return serve_worker(_Checker, _Checker.check)


# --------------------------------------------------------------------------------------------
# The parent side
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one file or folder. Immutable; any thread.

    Attributes:
        path: What was checked (absolute).
        kind: generator, filter, transition or shadertoy ("" when it could not be loaded).
        status: One of STATUSES (``unsupported:<feature>``).
        reason: Why, for anything but nonconstant ("" otherwise).
        seconds: Wall time of the check seen from the caller.
        max_std, max_change: The picture statistics (None when nothing was rendered).
        warnings: Non-fatal remarks.
    """

    path: Path
    kind: str
    status: str
    reason: str
    seconds: float
    max_std: float | None = None
    max_change: float | None = None
    warnings: tuple[str, ...] = ()

    @property
    def works(self) -> bool:
        """True when the shader loaded, compiled and rendered (constant or not)."""
        return self.status in ("nonconstant", "constant")


class ShaderChecker:
    """Checks shaders one after another in a persistent child process with its own GL context.

    Any thread but the render thread; calls are serialised. A file that takes longer than
    ``timeout`` gets status "timeout" and the worker is killed (the next check starts a new
    one); a worker that dies gives "compile_error" naming the crash.

    Args:
        timeout: Seconds one file may take.
        size: Render size.
        frames: Frames rendered per file.
        strict: Also run glslangValidator on the translated GLSL.
        roots: ``#include`` search roots for ISF files (default: the standard roots).
        start_timeout: Seconds the worker may take to start.
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, size: tuple[int, int] = DEFAULT_SIZE,
                 frames: int = DEFAULT_FRAMES, strict: bool = True,
                 roots: Sequence[Path] | None = None, start_timeout: float = 60.0) -> None:
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"ShaderChecker: timeout must be > 0 seconds, got {timeout!r}")
        if not 1 <= int(frames) <= 1000:
            raise ValueError(f"ShaderChecker: frames must be 1..1000, got {frames!r}")
        self.timeout = float(timeout)
        self.size = (int(size[0]), int(size[1]))
        self.frames = int(frames)
        self.strict = bool(strict)
        self.roots = [Path(r) for r in roots] if roots is not None else None
        self.start_timeout = float(start_timeout)
        self.renderer = ""
        self._worker: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """End the worker. Idempotent; any thread."""
        with self._lock:
            if self._worker is not None:
                self._worker.close()
                self._worker = None

    def __enter__(self) -> ShaderChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure(self) -> Any:
        if self._worker is not None and self._worker.proc.poll() is None:
            return self._worker
        try:
            worker = _Worker(sys.executable, self.start_timeout, module="live.render.importer")
        except (_Timeout, _Died):
            raise ValidatorError("the shader check process did not start") from None
        if not worker.ready:
            worker.close()
            raise ValidatorError(f"no OpenGL in the shader check process: {worker.error}")
        self.renderer = worker.renderer
        self._worker = worker
        return worker

    def check(self, path: Path | str, kind: str | None = None) -> CheckResult:
        """Check one ISF file or Shadertoy (folder or JSON). Blocks up to ``timeout``.

        Raises:
            ValidatorError: when the child process cannot be started or has no GL.
        """
        p = Path(path).expanduser().resolve()
        payload = {"path": str(p), "kind": kind, "size": list(self.size), "frames": self.frames,
                   "strict": self.strict,
                   "roots": [str(r) for r in self.roots] if self.roots is not None else None}
        with self._lock:
            worker = self._ensure()
            start = time.monotonic()
            try:
                answer = worker.request(payload, self.timeout)
            except _Timeout:
                worker.kill(wait=False)
                self._worker = None
                return CheckResult(p, kind or "", "timeout", f"no answer within {self.timeout:g} s "
                                   "(an endless loop, or far too slow for live use)",
                                   time.monotonic() - start)
            except _Died:
                code = worker.exit_code()
                worker.kill()
                self._worker = None
                return CheckResult(p, kind or "", "compile_error", f"the check process crashed "
                                   f"(exit code {code}); the GL driver may crash on this shader",
                                   time.monotonic() - start)
        return CheckResult(p, str(answer.get("kind", "")), str(answer["status"]),
                           str(answer.get("reason", "")), time.monotonic() - start,
                           answer.get("max_std"), answer.get("max_change"),
                           tuple(answer.get("warnings", ())))


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """One line of ``echoel import``. Immutable; any thread.

    Attributes:
        name: The name scenes use (``source = "<name>"``).
        kind: generator, filter, transition or shadertoy ("" when unknown).
        status: "imported", "rejected" (failed validation) or "skipped" (not a shader, or a
            different shader of that name already in the library).
        reason: Why (validation message), "" when imported cleanly.
        source: The file or folder given.
        destination: Where it was copied ("" when not).
    """

    name: str
    kind: str
    status: str
    reason: str
    source: str
    destination: str = ""


def library_name(path: Path) -> str:
    """The library name for a file or folder: its stem in lower case, with every run of
    characters other than letters, digits and ``_`` turned into one ``_`` ("Bad TV.fs" ->
    "bad_tv"), so scenes can name it. Any thread."""
    stem = path.name if path.is_dir() else path.stem
    name = _NAME_RE.sub("_", stem.lower()).strip("_")
    return name or "shader"


def expand_import_paths(paths: Iterable[Path | str]) -> list[Path]:
    """The shaders named by ``paths``: files and Shadertoy folders as given; other folders are
    searched (recursively) for ISF files, Shadertoy folders and JSON exports. Any thread.

    Raises:
        ShaderImportError: for a path that does not exist.
    """
    from live.render.shadertoy import is_shadertoy_source

    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise ShaderImportError(f"{raw}: no such file or folder")
        if path.is_file() or is_shadertoy_source(path):
            found.append(path)
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            here = Path(dirpath)
            if is_shadertoy_source(here) and here != path:
                found.append(here)
                dirnames.clear()
                continue
            dirnames.sort()
            for filename in sorted(filenames):
                file = here / filename
                if file.suffix.lower() in ISF_FOLDER_SUFFIXES or is_vsa_file(file) or (
                        file.suffix.lower() == ".json" and is_shadertoy_source(file)):
                    found.append(file)
    return found


def import_paths(paths: Iterable[Path | str], library: Path | None = None, *,
                 timeout: float = 10.0, force: bool = False,
                 validator: Any = None, checker: ShaderChecker | None = None) -> list[ImportResult]:
    """Validate each shader in ``paths`` in a child process and copy the good ones into
    ``library`` (default ``~/.local/share/echoel/shaders``).

    ISF files are validated by a ShaderValidator (compile and test-render, with ``timeout``),
    Shadertoys by a ShaderChecker (same, 3 frames). A file whose name is already taken by a
    different shader is skipped unless ``force``. Any thread but the render thread.

    Raises:
        ShaderImportError: for a path that does not exist.
        ValidatorError: when no child process with GL can be started.
    """
    from live.render.shader_source import USER_SHADERS
    from live.render.validate import ShaderValidator

    library = Path(library).expanduser() if library is not None else USER_SHADERS.expanduser()
    items = expand_import_paths(paths)
    own_validator = validator is None
    own_checker = checker is None
    validator = validator or ShaderValidator(timeout=timeout)
    checker = checker or ShaderChecker(timeout=timeout, frames=3, strict=False)
    results: list[ImportResult] = []
    try:
        for item in items:
            results.append(_import_one(item, library, force, validator, checker))
    finally:
        if own_validator:
            validator.close()
        if own_checker:
            checker.close()
    return results


def _import_one(item: Path, library: Path, force: bool, validator: Any,
                checker: ShaderChecker) -> ImportResult:
    from live.render.isf import load_isf
    from live.render.shader_source import ShaderSourceError, display_path

    shown = display_path(item)
    name = library_name(item)
    kind = detect_kind(item)
    if kind is None:
        return ImportResult(name, "", "skipped", "not an ISF shader (.fs, .frag, .glsl, or a .vs in VERTEX_SHADER_ART mode) or a "
                            "Shadertoy (folder with image.glsl, or API JSON export)", shown)
    if kind == "shadertoy":
        result = checker.check(item, "shadertoy")
        if not result.works:
            return ImportResult(name, "shadertoy", "rejected", f"{result.status}: {result.reason}", shown)
        files = _shadertoy_files(item)
        destination = library / (name if item.is_dir() else f"{name}.json")
        warnings = result.warnings
        shader_kind = "shadertoy"
    else:
        validation = validator.validate(item)
        if not validation.ok and validation.outcome != "unavailable":
            return ImportResult(name, "", "rejected", f"{validation.outcome}: {validation}", shown)
        try:
            shader = load_isf(item)
        except ShaderSourceError as exc:
            return ImportResult(name, "", "rejected", f"error: {exc}", shown)
        shader_kind = shader.kind
        destination = library / f"{name}{item.suffix.lower()}"
        files = _isf_files(shader, item, destination)
        warnings = validation.warnings
    same = _same_content(files, destination)
    if destination.exists() and not same and not force:
        return ImportResult(name, shader_kind, "skipped", f"a different shader named {name!r} is "
                            f"already in the library ({display_path(destination)}); use --force "
                            "to replace it", shown)
    _copy(files, destination, item.is_dir())
    reason = "; ".join(warnings)
    return ImportResult(name, shader_kind, "imported", reason, shown, str(destination))


def _isf_files(shader: Any, source: Path, destination: Path) -> dict[Path, Path]:
    """Source file -> library file for an ISF shader, its .vs and its IMPORTED images and cube
    map faces (which keep their path relative to the shader, as the header names them)."""
    files = {source: destination}
    if shader.vertex_path is not None:
        files[shader.vertex_path] = destination.with_suffix(shader.vertex_path.suffix)
    faces = [face for cube in getattr(shader, "imported_cubes", {}).values() for face in cube.faces]
    for image in [*shader.imported.values(), *faces]:
        try:
            rel = image.relative_to(source.parent.resolve())
        except ValueError:
            rel = Path(image.name)
        files[image] = destination.parent / rel
    return files


def _shadertoy_files(item: Path) -> dict[Path, Path]:
    if item.is_file():
        return {item: item}
    return {f: f.relative_to(item) for f in sorted(item.rglob("*")) if f.is_file()}


def _same_content(files: dict[Path, Path], destination: Path) -> bool:
    if not destination.exists():
        return False
    if destination.is_dir():
        pairs = [(src, destination / rel) for src, rel in files.items()]
    else:
        pairs = [(src, dst) for src, dst in files.items() if src.suffix == dst.suffix][:1]
    try:
        return all(dst.is_file() and src.read_bytes() == dst.read_bytes() for src, dst in pairs)
    except OSError:
        return False


def _copy(files: dict[Path, Path], destination: Path, folder: bool) -> None:
    if folder:
        tmp = destination.with_name(destination.name + ".importing")
        if tmp.exists():
            shutil.rmtree(tmp)
        for src, rel in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp / rel)
        if destination.exists():
            shutil.rmtree(destination)
        tmp.rename(destination)  # the library never holds a half-copied Shadertoy
        return
    for src, dst in files.items():
        target = destination if src == next(iter(files)) else dst
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``import`` on the ``echoel`` sub-command parsers; returns the new parser."""
    p = subparsers.add_parser(
        "import", help="validate ISF shaders and Shadertoys and copy them into the shader library",
        description="Validate each ISF file (.fs), Shadertoy folder (image.glsl, channels.toml) "
        "or Shadertoy JSON export in a child process (compile and test-render, killed after "
        "--timeout), then copy the good ones into ~/.local/share/echoel/shaders. Folders that "
        "are not Shadertoys are searched for shaders. Prints one tab-separated line per shader: "
        "name, kind, status, reason; then a summary. Scenes use the printed name. Exit status 2 "
        "when any shader is rejected.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="shader files or folders")
    p.add_argument("--library", metavar="DIR", help="shader library to copy into (default "
                   "~/.local/share/echoel/shaders)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds one shader may take to compile and render (default 10)")
    p.add_argument("--force", action="store_true", help="replace shaders of the same name")
    p.add_argument("--json", action="store_true", help="print JSON instead of lines")
    p.set_defaults(func=cmd_import)
    return p


def cmd_import(args: argparse.Namespace) -> int:
    """Run ``echoel import``: 0 when every shader was imported, 2 when any was rejected or
    skipped."""
    results = import_paths(args.paths, Path(args.library) if args.library else None,
                           timeout=args.timeout, force=args.force)
    imported = sum(r.status == "imported" for r in results)
    summary = {"total": len(results), "imported": imported,
               "rejected": sum(r.status == "rejected" for r in results),
               "skipped": sum(r.status == "skipped" for r in results)}
    if args.json:
        print(json.dumps({"results": [asdict(r) for r in results], "summary": summary}, indent=2))
    else:
        for r in results:
            reason = " ".join(r.reason.split())
            print(f"{r.name}\t{r.kind or '-'}\t{r.status}\t{reason}")
        print(f"imported {imported} of {len(results)} ({summary['rejected']} rejected, "
              f"{summary['skipped']} skipped)")
    return 0 if imported == len(results) else 2


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m live.render.importer``: the check worker (``--worker``) or ``import``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--worker"]:
        return _worker_main()
    parser = argparse.ArgumentParser(prog="python -m live.render.importer")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["import", *argv])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
