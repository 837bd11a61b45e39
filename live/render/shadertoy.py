"""Shadertoy shaders, unchanged: loading, translation to GLSL 330 core, and rendering.

Two ways to bring a Shadertoy in:

- the JSON the Shadertoy API returns (``{"Shader": {"info": ..., "renderpass": [...]}}``, or the
  inner object alone, or a list of them: the first is used);
- a folder holding ``image.glsl``, optionally ``common.glsl``, ``buffer_a.glsl`` ..
  ``buffer_d.glsl`` and a cube-map pass ``cube_a.glsl``, and a ``channels.toml`` that binds
  iChannel0-3 of each pass::

      [info]                       # optional
      name = "Warp tunnel"
      author = "someone"
      [buffer_a]
      iChannel0 = "self"           # this buffer's previous frame
      iChannel1 = "audio"          # the live analysis as Shadertoy's 512x2 FFT/wave texture
      [image]
      iChannel0 = { source = "buffer_a", filter = "nearest", wrap = "clamp" }
      iChannel1 = "layer:cam"      # another layer of the scene, by id
      iChannel2 = "image:rock.png" # an image file, relative to the folder
      iChannel3 = "media:rgba_noise_medium"

  Sources: ``buffer_a`` .. ``buffer_d``, ``cube_a``, ``self``, ``audio``, ``below`` (the picture composited
  under this layer), ``layer:<id>``, ``image:<path>``, ``media:<name>`` (Shadertoy's own media,
  see MEDIA), ``keyboard``, ``none``. A table form adds ``filter`` (nearest, linear, mipmap),
  ``wrap`` (clamp, repeat) and ``vflip`` (true, false).

Shadertoy's own media (noise textures, the keyboard, cube maps, volumes, pictures) are replaced
by stand-ins generated here, of the same size and format: the project ships none of Shadertoy's
files. Each pass becomes one GLSL 330 core program: the uniforms iResolution, iTime, iTimeDelta,
iFrame, iFrameRate, iMouse, iDate, iSampleRate, iChannelTime, iChannelResolution and iChannel0-3,
then the common code, then the pass, then a ``main`` calling ``mainImage`` (or an old shader's
own ``main``). What desktop GLSL reads differently from GLSL ES 3.00 and WebGL 1 (texture2D and
the EXT texture functions, line continuations, macro arguments, desktop-only type names) is
rewritten on the way, line numbers kept (see docs/shadertoy.md). Buffers are RGBA32F
at the render size, kept from frame to frame; passes run A, B, C, D, then Image, and a pass that
reads a buffer sees its latest content (this frame's when that buffer ran before it, else the
last frame's), as on shadertoy.com. A cube-map pass (``cube_a``, run after the buffers) calls
``mainCubemap`` for the six faces of an RGBA16F cube map kept the same way (see docs/shadertoy.md
for its face size).

Threads: loading and translation (:func:`load_shadertoy`, :func:`resolve_shadertoy_path`,
:func:`standin_media`) are pure Python and run on any thread; :class:`ShadertoyRenderer` runs on
the render thread only.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from live.render.isf import global_declared_names, strip_comments
from live.render.shader_source import (
    MappedSource,
    ShaderNotFoundError,
    ShaderSourceError,
    UnsupportedFeatureError,
    compile_error,
    default_search_roots,
    display_path,
    read_shader_file,
)

#: Pass names in the order they run each frame (the image pass draws the layer).
PASS_ORDER = ("buffer_a", "buffer_b", "buffer_c", "buffer_d", "cube_a", "image")
BUFFER_NAMES = PASS_ORDER[:4]
#: The cube-map render pass ("Cube A" on shadertoy.com): mainCubemap renders six faces.
CUBE_PASS = "cube_a"
#: Largest cube-map face rendered, in pixels. shadertoy.com renders 1024 x 1024 per face; a live
#: engine renders the cube's six faces every frame, so faces follow the layer's size (the next
#: power of two of its longer side, at least CUBE_FACE_MIN) up to this bound: 512 keeps a cube
#: pass about as costly as 1.5 full-HD frames.
CUBE_FACE_MAX = 512
CUBE_FACE_MIN = 16
#: The uniforms Shadertoy gives every pass, with their GLSL declarations.
UNIFORM_DECLARATIONS = {
    "iResolution": "uniform vec3 iResolution;",
    "iTime": "uniform float iTime;",
    "iTimeDelta": "uniform float iTimeDelta;",
    "iFrame": "uniform int iFrame;",
    "iFrameRate": "uniform float iFrameRate;",
    "iMouse": "uniform vec4 iMouse;",
    "iDate": "uniform vec4 iDate;",
    "iSampleRate": "uniform float iSampleRate;",
    "iChannelTime": "uniform float iChannelTime[4];",
    "iChannelResolution": "uniform vec3 iChannelResolution[4];",
}
CHANNEL_NAMES = ("iChannel0", "iChannel1", "iChannel2", "iChannel3")
FILTERS = ("nearest", "linear", "mipmap")
WRAPS = ("clamp", "repeat")
#: Channel sources of channels.toml that take no argument.
PLAIN_SOURCES = (*BUFFER_NAMES, CUBE_PASS, "self", "audio", "below", "keyboard", "none")
#: Channel sources written ``<prefix>:<argument>``.
PREFIXED_SOURCES = ("layer", "image", "media")
#: Width of Shadertoy's audio texture (row 0: FFT, row 1: waveform).
AUDIO_TEXTURE_WIDTH = 512
#: Sample rate reported in iSampleRate when the engine does not say otherwise.
DEFAULT_SAMPLE_RATE = 48000.0
#: Layer parameters: the mouse, which a performer drives from a controller (0..1 of the width
#: and height; mouse_down >= 0.5 is a pressed button).
PARAMS = ("mouse_x", "mouse_y", "mouse_down")

_OUTPUT = "_echoel_FragColor"
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VERSION_RE = re.compile(r"^\s*#\s*version\b")
_EXTENSION_RE = re.compile(r"^\s*#\s*extension\b")
_MEDIA_HASH_RE = re.compile(r"([0-9a-f]{40,64})(?:_\d+)?\.[A-Za-z0-9]+$")
# GLSL ES 3.00 built-ins that desktop GLSL 330 has only through an extension.
_PACKING_FUNCTIONS = frozenset({"packSnorm2x16", "unpackSnorm2x16", "packUnorm2x16",
                                "unpackUnorm2x16", "packHalf2x16", "unpackHalf2x16"})
# WebGL 1 texture functions (core and EXT_shader_texture_lod) that older Shadertoys still call,
# by the GLSL ES 3.00 / GLSL 330 function that does the same.
_WEBGL1_TEXTURE_FUNCTIONS = {
    "texture2D": "texture", "texture2DLod": "textureLod", "texture2DLodEXT": "textureLod",
    "texture2DGradEXT": "textureGrad", "texture2DProj": "textureProj",
    "texture2DProjLod": "textureProjLod", "texture2DProjLodEXT": "textureProjLod",
    "texture2DProjGradEXT": "textureProjGrad", "textureCube": "texture",
    "textureCubeLod": "textureLod", "textureCubeLodEXT": "textureLod",
    "textureCubeGradEXT": "textureGrad", "texture3D": "texture", "texture3DLod": "textureLod",
}
_WEBGL1_TEXTURE_RE = re.compile(r"\b(" + "|".join(sorted(_WEBGL1_TEXTURE_FUNCTIONS, key=len, reverse=True))
                                + r")\s*\(")
# Extensions of WebGL whose features desktop GLSL 330 has built in; Mesa refuses some of them
# ("unsupported in fragment shader" with ``require``), so their #extension lines are dropped.
_CORE_IN_330_EXTENSIONS = frozenset({"GL_OES_standard_derivatives", "GL_EXT_shader_texture_lod",
                                     "GL_EXT_frag_depth", "GL_EXT_draw_buffers", "GL_OES_texture_3D",
                                     "GL_EXT_shadow_samplers"})
_EXTENSION_NAME_RE = re.compile(r"^\s*#\s*extension\s+(\w+)")
# Type names that desktop GLSL 330 reserves but GLSL ES 3.00 does not, so a Shadertoy may use
# them as ordinary identifiers; they are renamed so that desktop compilers accept the code.
_DESKTOP_ONLY_KEYWORDS = frozenset({
    "sampler1D", "sampler1DShadow", "sampler1DArray", "sampler1DArrayShadow", "isampler1D",
    "isampler1DArray", "usampler1D", "usampler1DArray", "sampler2DRect", "sampler2DRectShadow",
    "isampler2DRect", "usampler2DRect", "samplerBuffer", "isamplerBuffer", "usamplerBuffer",
    "sampler2DMS", "isampler2DMS", "usampler2DMS", "sampler2DMSArray", "isampler2DMSArray",
    "usampler2DMSArray"})
_DESKTOP_ONLY_RE = re.compile(r"\b(" + "|".join(sorted(_DESKTOP_ONLY_KEYWORDS, key=len, reverse=True))
                              + r")\b")
# A function-like macro: its parameters and what follows them on the line.
_FUNCTION_MACRO_RE = re.compile(r"^(\s*#\s*define\s+\w+\(([^()]*)\))(.*)$")
# Shadertoys from before mainImage (2014) define main() and write gl_FragColor.
_OLD_MAIN_RE = re.compile(r"\bvoid\s+main\s*\(")
_FRAG_COLOR_RE = re.compile(r"\bgl_FragColor\b|\bgl_FragData\s*\[\s*0\s*\]")


# --------------------------------------------------------------------------------------------
# Shadertoy's media, replaced by generated stand-ins
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaInfo:
    """One of Shadertoy's built-in inputs and the shape of its stand-in.

    Attributes:
        name: Our name (``media:<name>`` in channels.toml).
        target: "2d", "3d" or "cube" (the sampler type the shader declares).
        size: Width, height (and depth for "3d") in pixels.
        components: 1 (grey/red) or 4 (RGBA).
        style: How the stand-in is generated: noise, gray_noise, blue_noise, bayer, font,
            picture, sky, keyboard.
        hash: The start of Shadertoy's file hash, for reading API exports ("" for none).
    """

    name: str
    target: str
    size: tuple[int, ...]
    components: int
    style: str
    hash: str = ""


#: Shadertoy's media by our name. Sizes and formats follow Shadertoy's files; the pictures
#: (whose sizes differ) are 512x512 or as noted. Hash prefixes identify them in API exports.
MEDIA: dict[str, MediaInfo] = {m.name: m for m in (
    MediaInfo("gray_noise_small", "2d", (64, 64), 4, "gray_noise", "0a40562379b63dfb"),
    MediaInfo("gray_noise_medium", "2d", (256, 256), 4, "gray_noise", "0c7bf5fe9462d5bf"),
    MediaInfo("rgba_noise_small", "2d", (64, 64), 4, "noise", "3083c722c0c738ca"),
    MediaInfo("rgba_noise_medium", "2d", (256, 256), 4, "noise", "f735bee5b64ef988"),
    MediaInfo("blue_noise", "2d", (1024, 1024), 4, "blue_noise", "cb49c003b454385a"),
    MediaInfo("bayer", "2d", (8, 8), 4, "bayer", "85a6d68622b36995"),
    MediaInfo("font_1", "2d", (1024, 1024), 4, "font", "08b42b43ae9d3c06"),
    MediaInfo("abstract_1", "2d", (512, 512), 4, "picture", "52d2a8f514c4fd2d"),
    MediaInfo("abstract_2", "2d", (512, 512), 4, "picture", "bd6464771e47eed8"),
    MediaInfo("abstract_3", "2d", (512, 512), 4, "picture", "8979352a182bde7c"),
    MediaInfo("lichen", "2d", (512, 512), 4, "picture", "fb918796edc3d222"),
    MediaInfo("london", "2d", (512, 512), 4, "picture", "8de3a3924cb95bd0"),
    MediaInfo("nyancat", "2d", (256, 32), 4, "picture", "cbcbb5a6cfb55c36"),
    MediaInfo("organic_1", "2d", (512, 512), 4, "picture", "cd4c518bc6ef165c"),
    MediaInfo("organic_2", "2d", (512, 512), 4, "picture", "92d7758c402f0927"),
    MediaInfo("organic_3", "2d", (512, 512), 4, "picture", "79520a3d3a0f4d3c"),
    MediaInfo("organic_4", "2d", (512, 512), 4, "picture", "3871e838723dd6b1"),
    MediaInfo("pebbles", "2d", (512, 512), 4, "picture", "ad56fba948dfba9a"),
    MediaInfo("rock_tiles", "2d", (512, 512), 4, "picture", "10eb4fe0ac8a7dc3"),
    MediaInfo("rusty_metal", "2d", (512, 512), 4, "picture", "95b90082f799f486"),
    MediaInfo("stars", "2d", (512, 512), 4, "picture", "e6e5631ce1237ae4"),
    MediaInfo("wood", "2d", (512, 512), 4, "picture", "1f7dca9c22f32475"),
    MediaInfo("picture", "2d", (512, 512), 4, "picture"),  # any texture we do not recognise
    MediaInfo("grey_noise_3d", "3d", (32, 32, 32), 1, "gray_noise", "27012b4eadd0c3ce"),
    MediaInfo("rgba_noise_3d", "3d", (32, 32, 32), 4, "noise", "aea6b99da1d53055"),
    MediaInfo("forest", "cube", (256, 256), 4, "sky", "94284d43be78f00e"),
    MediaInfo("forest_blurred", "cube", (64, 64), 4, "sky", "0681c014f6c88c35"),
    MediaInfo("st_peters_basilica", "cube", (256, 256), 4, "sky", "488bd40303a2e2b9"),
    MediaInfo("st_peters_basilica_blurred", "cube", (64, 64), 4, "sky", "550a8cce1bf40386"),
    MediaInfo("uffizi_gallery", "cube", (256, 256), 4, "sky", "585f9546c092f53d"),
    MediaInfo("uffizi_gallery_blurred", "cube", (64, 64), 4, "sky", "793a105653fbdada"),
    MediaInfo("cubemap", "cube", (256, 256), 4, "sky"),  # any cube map we do not recognise
    MediaInfo("keyboard", "2d", (256, 3), 1, "keyboard"),
)}


def media_for_hash(path_or_hash: str, target: str) -> MediaInfo | None:
    """The MediaInfo whose Shadertoy file is ``path_or_hash`` (a ``/media/a/<hash>.png`` path
    or a hash), or None when unknown. Any thread."""
    match = _MEDIA_HASH_RE.search(path_or_hash)
    digest = match.group(1) if match else path_or_hash
    for info in MEDIA.values():
        if info.hash and info.target == target and digest.startswith(info.hash):
            return info
    return None


def standin_media(name: str) -> np.ndarray:
    """The generated stand-in for Shadertoy medium ``name``: uint8 pixels, first row at the
    bottom (GL order), shaped (height, width, components) or (depth, height, width, components)
    for volumes and (6, size, size, 4) for cube maps (faces +x, -x, +y, -y, +z, -z).

    Deterministic (seeded by the name). The RGBA noise textures keep the property Shadertoy's
    noise functions rely on: green at texel (x, y) equals red at (x - 37, y - 17), alpha equals
    blue the same way, so two lookups give two z-slices of a 3D noise. Any thread.
    """
    info = MEDIA[name]
    rng = np.random.default_rng(_seed(name))
    if info.target == "cube":
        return _sky_cube(info.size[0])
    if info.target == "3d":
        d, h, w = info.size[2], info.size[1], info.size[0]
        values = rng.integers(0, 256, size=(d, h, w, info.components), dtype=np.uint8)
        return values
    w, h = info.size
    style = info.style
    if style == "keyboard":
        return np.zeros((h, w, 1), np.uint8)  # no key is ever down: the show has no keyboard
    if style == "bayer":
        return _gray_rgba(_bayer(w) * 255.0 / (w * h - 1) + 0.5)
    if style == "gray_noise":
        return _gray_rgba(rng.integers(0, 256, size=(h, w)))
    if style == "noise":
        red = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        blue = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        green = np.roll(red, shift=(17, 37), axis=(0, 1))
        alpha = np.roll(blue, shift=(17, 37), axis=(0, 1))
        return np.stack([red, green, blue, alpha], axis=-1)
    if style == "blue_noise":
        return _blue_noise(rng, w, h)
    if style == "font":
        return _glyph_atlas(rng, w, h)
    return _picture(rng, w, h)


def _seed(name: str) -> int:
    # Python's hash() of str is salted per process; a stable seed keeps renders reproducible.
    return int.from_bytes(name.encode("utf-8")[:8].ljust(8, b"\0"), "little")


def _gray_rgba(gray: np.ndarray) -> np.ndarray:
    g = np.clip(gray, 0, 255).astype(np.uint8)
    return np.stack([g, g, g, np.full_like(g, 255)], axis=-1)


def _bayer(n: int) -> np.ndarray:
    """The n x n ordered-dither (Bayer) index matrix, values 0 .. n*n-1 (n a power of two)."""
    m = np.zeros((1, 1))
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return m


def _blue_noise(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Noise with little low-frequency energy: white noise minus its blur, ranked to a uniform
    histogram per channel (an approximation of void-and-cluster blue noise)."""
    out = np.empty((h, w, 4), np.uint8)
    for c in range(4):
        white = rng.random((h, w))
        spectrum = np.fft.rfft2(white)
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.rfftfreq(w)[None, :]
        high = spectrum * (1.0 - np.exp(-(fx * fx + fy * fy) / (2 * 0.08 ** 2)))
        filtered = np.fft.irfft2(high, s=(h, w))
        ranks = filtered.ravel().argsort().argsort().reshape(h, w)
        out[..., c] = (ranks * 256 // (w * h)).astype(np.uint8)
    return out


def _glyph_atlas(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A 16 x 16 grid of blocky pseudo-glyphs, white on transparent, like Shadertoy's font
    texture's layout (one character per cell, ASCII order)."""
    cell_w, cell_h = w // 16, h // 16
    out = np.zeros((h, w, 4), np.uint8)
    for code in range(33, 127):
        bits = rng.random((7, 5)) < 0.45
        glyph = np.kron(bits, np.ones((cell_h // 10, cell_w // 8), bool))
        gy, gx = glyph.shape
        row, col = divmod(code, 16)
        y0 = (15 - row) * cell_h + (cell_h - gy) // 2  # row 0 of the atlas is at the top
        x0 = col * cell_w + (cell_w - gx) // 2
        out[y0:y0 + gy, x0:x0 + gx][glyph[::-1]] = 255
    return out


def _picture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A smooth, colourful, opaque picture: a few octaves of value noise per channel."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.zeros((h, w, 3))
    for octave in range(4):
        f = 2 ** octave
        phase = rng.random((3, 2)) * 2 * np.pi
        for c in range(3):
            out[..., c] += np.sin(x / w * 2 * np.pi * f * (c + 1) + phase[c, 0]) * \
                np.cos(y / h * 2 * np.pi * f + phase[c, 1]) / (octave + 1)
    out = (out - out.min()) / max(float(np.ptp(out)), 1e-9)
    rgba = np.concatenate([out, np.ones((h, w, 1))], axis=-1)
    return (rgba * 255 + 0.5).astype(np.uint8)


def _sky_cube(size: int) -> np.ndarray:
    """Six faces of a sky: blue above, warm horizon, dark ground, with soft noise."""
    faces = []
    t = (np.arange(size) + 0.5) / size * 2 - 1
    a, b = np.meshgrid(t, t)
    one = np.ones_like(a)
    # Direction of each texel per face (GL's cube-map face orientation).
    dirs = [(one, -b, -a), (-one, -b, a), (a, one, b), (a, -one, -b), (a, -b, one), (-a, -b, -one)]
    for dx, dy, dz in dirs:
        n = np.sqrt(dx * dx + dy * dy + dz * dz)
        up = dy / n
        sky = np.stack([0.35 + 0.2 * (1 - up), 0.55 + 0.2 * (1 - up), 0.95 * one], axis=-1)
        ground = np.stack([0.25 * one, 0.2 * one, 0.15 * one], axis=-1)
        mix = np.clip(up * 4 + 0.5, 0, 1)[..., None]
        colour = ground * (1 - mix) + sky * mix + 0.05 * np.sin(dx / n * 20) [..., None]
        rgba = np.concatenate([np.clip(colour, 0, 1), one[..., None]], axis=-1)
        faces.append((rgba * 255 + 0.5).astype(np.uint8))
    return np.stack(faces)


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """What one iChannel of a pass reads. Immutable; any thread.

    Attributes:
        source: One of PLAIN_SOURCES (``self`` already resolved to the pass's buffer name) or
            PREFIXED_SOURCES.
        argument: The layer id, image file (absolute) or media name; "" for plain sources.
        filter: nearest, linear or mipmap.
        wrap: clamp or repeat.
        vflip: Upload images bottom row first, so that they appear upright (Shadertoy's default).
    """

    source: str
    argument: str = ""
    filter: str = "linear"
    wrap: str = "clamp"
    vflip: bool = True

    @property
    def target(self) -> str:
        """The sampler type this channel needs: "2d", "3d" or "cube"."""
        if self.source == "media":
            return MEDIA[self.argument].target
        if self.source == CUBE_PASS:
            return "cube"
        return "2d"

    @property
    def glsl_sampler(self) -> str:
        """``sampler2D``, ``sampler3D`` or ``samplerCube``."""
        return {"2d": "sampler2D", "3d": "sampler3D", "cube": "samplerCube"}[self.target]

    def describe(self) -> str:
        """How channels.toml writes this source (``layer:cam``, ``buffer_a``)."""
        return f"{self.source}:{self.argument}" if self.argument else self.source


@dataclass
class ShadertoyPass:
    """One pass: its name (buffer_a .. buffer_d or image), channels, and translated GLSL.

    Attributes:
        name: The pass name (PASS_ORDER); ``cube_a`` renders a cube map through mainCubemap.
        channels: The four channels (None where nothing is bound: reads transparent black).
        fragment_source: Complete GLSL 330 core fragment shader.
        fragment_map: Its line map back to the Shadertoy source.
    """

    name: str
    channels: tuple[Channel | None, ...]
    fragment_source: str
    fragment_map: MappedSource = field(repr=False, compare=False, default_factory=MappedSource)


@dataclass
class Shadertoy:
    """A loaded Shadertoy: metadata, passes in running order, and remarks. Any thread.

    Attributes:
        path: The .json file or the folder.
        name, description, credit: Metadata (from the export's info, or channels.toml [info]).
        passes: The buffers that exist, in order, then the image pass (always last).
        warnings: Non-fatal remarks (a sound pass ignored, media replaced, ...).
        files: Files the shader was read from (for change detection).
    """

    path: Path
    name: str
    description: str
    credit: str
    passes: list[ShadertoyPass]
    warnings: list[str] = field(default_factory=list)
    files: tuple[Path, ...] = ()

    kind = "shadertoy"

    @property
    def display_name(self) -> str:
        """The file or folder as shown in messages."""
        return display_path(self.path)

    @property
    def buffers(self) -> list[str]:
        """Names of the buffer passes (buffer_a .. buffer_d), in running order."""
        return [p.name for p in self.passes if p.name in BUFFER_NAMES]

    @property
    def has_cube_pass(self) -> bool:
        """True when the shader renders a cube map (a ``cube_a`` pass)."""
        return any(p.name == CUBE_PASS for p in self.passes)

    def channels(self) -> list[Channel]:
        """Every bound channel of every pass."""
        return [c for p in self.passes for c in p.channels if c is not None]

    @property
    def layer_inputs(self) -> list[str]:
        """Ids of the scene layers this shader reads (``layer:<id>`` channels)."""
        return sorted({c.argument for c in self.channels() if c.source == "layer"})

    @property
    def reads_below(self) -> bool:
        """True when a channel reads the picture composited below the layer."""
        return any(c.source == "below" for c in self.channels())


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def resolve_shadertoy_path(name: str, roots: Sequence[Path] | None = None) -> Path:
    """Find the Shadertoy called ``name``: an existing folder or .json file, or a name relative
    to a shader search root (``"shadertoy/tunnel"`` finds ``<root>/shadertoy/tunnel/`` holding
    ``image.glsl``, then ``<root>/shadertoy/tunnel.json``). Any thread.

    Raises ShaderNotFoundError listing the roots searched and close matches.
    """
    direct = Path(name).expanduser()
    if _is_shadertoy(direct):
        return direct
    search = list(roots) if roots is not None else default_search_roots()
    for root in search:
        for candidate in (root / name, root / f"{name}.json"):
            if _is_shadertoy(candidate):
                return candidate
    known = list_shadertoy_names(search)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    where = ", ".join(display_path(r) for r in search)
    raise ShaderNotFoundError(name, None, f"no Shadertoy named {name!r} (a folder with "
                              f"image.glsl or a .json export, in {where}){hint}")


def _is_shadertoy(path: Path) -> bool:
    return (path.is_dir() and (path / "image.glsl").is_file()) or (
        path.is_file() and path.suffix.lower() == ".json")


def list_shadertoy_names(roots: Sequence[Path] | None = None) -> list[str]:
    """Names of the Shadertoys (folders with image.glsl, .json exports) under the roots."""
    names: set[str] = set()
    for root in roots if roots is not None else default_search_roots():
        if not root.is_dir():
            continue
        for image in root.rglob("image.glsl"):
            names.add(image.parent.relative_to(root).as_posix())
        for export in root.rglob("*.json"):
            names.add(export.relative_to(root).with_suffix("").as_posix())
    return sorted(names)


def is_shadertoy_source(path: Path) -> bool:
    """Whether ``path`` looks like a Shadertoy (a folder with image.glsl, or a JSON export with
    renderpasses). Any thread; reads at most the JSON file."""
    path = Path(path)
    if path.is_dir():
        return (path / "image.glsl").is_file()
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        return _export_object(json.loads(path.read_text(encoding="utf-8-sig"))) is not None
    except (OSError, ValueError):
        return False


def load_shadertoy(path: Path | str) -> Shadertoy:
    """Load a Shadertoy folder or API JSON export and translate every pass to GLSL 330 core.

    Any thread (file reads only; call it at load time).

    Raises:
        ShaderSourceError: naming the file (and line) for unreadable files, bad JSON or TOML,
            a channel that names something missing, a pass without mainImage.
        UnsupportedFeatureError: where the GL of the render thread cannot render into cube
            maps (raised by ShadertoyRenderer, feature "cubemap_pass").
    """
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    return _load_export(path)


@dataclass
class _RawPass:
    name: str
    code: MappedSource
    channels: list[Channel | None]


def _code(text: str, file: str) -> MappedSource:
    out = MappedSource()
    out.append_lines(text.replace("\r\n", "\n").replace("\r", "\n"), file, 1)
    return out


def _load_folder(folder: Path) -> Shadertoy:
    shown = display_path(folder)
    files: list[Path] = []
    raw: dict[str, _RawPass] = {}
    for name in PASS_ORDER:
        file = folder / f"{name}.glsl"
        if file.is_file():
            raw[name] = _RawPass(name, _code(read_shader_file(file), display_path(file)), [None] * 4)
            files.append(file)
    for misnamed in ("cubemap_a.glsl", "cube.glsl", "cubemap.glsl"):
        if (folder / misnamed).is_file() and not (folder / "cube_a.glsl").is_file():
            raise ShaderSourceError(display_path(folder / misnamed), None, "a cube-map render "
                                    "pass must be called cube_a.glsl")
    warnings: list[str] = []
    if (folder / "sound.glsl").is_file():
        warnings.append(f"{shown}/sound.glsl: sound passes make audio; the engine plays none "
                        "(ignored)")
    common = folder / "common.glsl"
    common_code = _code(read_shader_file(common), display_path(common)) if common.is_file() else None
    if common_code is not None:
        files.append(common)
    info: dict = {}
    toml_file = folder / "channels.toml"
    if toml_file.is_file():
        files.append(toml_file)
        info = _read_channels_toml(toml_file, folder, raw)
    name = str(info.get("name") or folder.name)
    return _finish(folder, name, str(info.get("description", "")), str(info.get("author", "")),
                   raw, common_code, warnings, tuple(files))


def _read_channels_toml(file: Path, folder: Path, raw: dict[str, _RawPass]) -> dict:
    shown = display_path(file)
    text = read_shader_file(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ShaderSourceError(shown, getattr(exc, "lineno", None), f"invalid TOML: {exc}") from None
    allowed = ("info", *PASS_ORDER)
    info: dict = {}
    for key, table in data.items():
        line = _toml_line(text, key)
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            raise ShaderSourceError(shown, line, f"unknown table [{key}]"
                                    f"{'; did you mean [' + hint[0] + ']?' if hint else ''} "
                                    f"(allowed: {', '.join(allowed)})")
        if not isinstance(table, dict):
            raise ShaderSourceError(shown, line, f"[{key}] must be a table")
        if key == "info":
            for k, v in table.items():
                if k not in ("name", "description", "author") or not isinstance(v, str):
                    raise ShaderSourceError(shown, _toml_line(text, k), f"[info] {k}: expected "
                                            "name, description or author, as strings")
            info = table
            continue
        if key not in raw:
            raise ShaderSourceError(shown, line, f"[{key}] binds channels of a pass that does "
                                    f"not exist: there is no {key}.glsl in {display_path(folder)}")
        for channel_key, value in table.items():
            where = f"[{key}] {channel_key}"
            cline = _toml_line(text, channel_key) or line
            if channel_key not in CHANNEL_NAMES:
                raise ShaderSourceError(shown, cline, f"{where}: expected iChannel0 .. "
                                        "iChannel3")
            channel = _parse_channel(value, key, folder, raw, shown, cline, where)
            raw[key].channels[CHANNEL_NAMES.index(channel_key)] = channel
    return info


def _toml_line(text: str, key: str) -> int | None:
    match = re.search(r"^\s*(?:\[\s*" + re.escape(key) + r"\s*\]|" + re.escape(key) + r"\s*=)",
                      text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _parse_channel(value: Any, pass_name: str, folder: Path, raw: Mapping[str, _RawPass],
                   file: str, line: int | None, where: str) -> Channel | None:
    options: dict = {}
    if isinstance(value, dict):
        options = dict(value)
        value = options.pop("source", None)
        for k in options:
            if k not in ("filter", "wrap", "vflip"):
                raise ShaderSourceError(file, line, f"{where}: unknown key {k!r} (allowed: "
                                        "source, filter, wrap, vflip)")
    if not isinstance(value, str) or not value:
        raise ShaderSourceError(file, line, f"{where}: expected a source string like "
                                "\"buffer_a\", \"audio\", \"layer:<id>\" or \"image:<file>\"")
    source, _, argument = value.partition(":")
    if source == "self":
        if pass_name == "image":
            raise ShaderSourceError(file, line, f"{where}: \"self\" is for buffer passes (the "
                                    "buffer's previous frame); the image pass has none")
        source = pass_name
    if source in (*BUFFER_NAMES, CUBE_PASS) and source not in raw:
        raise ShaderSourceError(file, line, f"{where}: {source} is bound but there is no "
                                f"{source}.glsl in {display_path(folder)}")
    if source in PLAIN_SOURCES and not argument:
        pass
    elif source in PREFIXED_SOURCES and argument:
        if source == "image":
            image = (folder / argument).resolve()
            if not image.is_file():
                raise ShaderSourceError(file, line, f"{where}: image file {display_path(image)} "
                                        "does not exist (paths are relative to the folder)")
            argument = str(image)
        elif source == "media" and argument not in MEDIA:
            close = difflib.get_close_matches(argument, MEDIA, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ShaderSourceError(file, line, f"{where}: unknown medium {argument!r}{hint} "
                                    f"(known: {', '.join(MEDIA)})")
    else:
        allowed = ", ".join([*PLAIN_SOURCES, "self", *(f"{p}:<...>" for p in PREFIXED_SOURCES)])
        raise ShaderSourceError(file, line, f"{where}: unknown source {value!r} (allowed: "
                                f"{allowed})")
    if source == "none":
        return None
    if source == "keyboard":
        source, argument = "media", "keyboard"
    defaults = _default_sampling(source, argument)
    filt = options.get("filter", defaults[0])
    wrap = options.get("wrap", defaults[1])
    vflip = options.get("vflip", True)
    if filt not in FILTERS:
        raise ShaderSourceError(file, line, f"{where}: filter {filt!r}; allowed: {', '.join(FILTERS)}")
    if wrap not in WRAPS:
        raise ShaderSourceError(file, line, f"{where}: wrap {wrap!r}; allowed: {', '.join(WRAPS)}")
    if not isinstance(vflip, bool):
        raise ShaderSourceError(file, line, f"{where}: vflip must be true or false")
    return Channel(source, argument, filt, wrap, vflip)


def _default_sampling(source: str, argument: str) -> tuple[str, str]:
    """Shadertoy's defaults: textures mipmapped and repeating, the keyboard exact, the rest
    linear and clamped."""
    if source == "media" and argument == "keyboard":
        return ("nearest", "clamp")
    if source in ("media", "image"):
        return ("mipmap", "repeat")
    return ("linear", "clamp")


# ---- API export ----


def _export_object(data: Any) -> dict | None:
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict) and isinstance(data.get("Shader"), dict):
        data = data["Shader"]
    if isinstance(data, dict) and isinstance(data.get("renderpass"), list):
        return data
    return None


#: Output ids shadertoy.com gives buffers A-D and Cube A (the string ids older exports use, and
#: the numbers newer ones use).
_LEGACY_BUFFER_IDS = {"4dXGR8": "buffer_a", "XsXGR8": "buffer_b", "4sXGR8": "buffer_c",
                      "XdfGR8": "buffer_d", "4dX3Rr": CUBE_PASS, "257": "buffer_a",
                      "258": "buffer_b", "259": "buffer_c", "260": "buffer_d", "41": CUBE_PASS}


def _load_export(path: Path) -> Shadertoy:
    shown = display_path(path)
    text = read_shader_file(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ShaderSourceError(shown, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    shader = _export_object(data)
    if shader is None:
        raise ShaderSourceError(shown, None, "not a Shadertoy export: expected {\"Shader\": "
                                "{\"info\": ..., \"renderpass\": [...]}}")
    info = shader.get("info") if isinstance(shader.get("info"), dict) else {}
    warnings: list[str] = []
    passes = [p for p in shader["renderpass"] if isinstance(p, dict)]
    buffer_ids: dict[str, str] = {}
    raw: dict[str, _RawPass] = {}
    pass_of: dict[int, str] = {}  # renderpass index -> our pass name
    common: MappedSource | None = None
    unnamed = iter(BUFFER_NAMES)
    for index, rp in enumerate(passes):
        kind = str(rp.get("type", "")).lower()
        label = str(rp.get("name") or kind or f"renderpass[{index}]")
        code = rp.get("code", "")
        if not isinstance(code, str):
            raise ShaderSourceError(shown, None, f"renderpass {label!r}: code must be a string")
        origin = f"{shown} ({label})"
        if kind == "common":
            common = _code(code, origin)
        elif kind == "sound":
            warnings.append(f"{origin}: sound passes make audio; the engine plays none (ignored)")
        elif kind in ("image", "buffer", "cubemap"):
            if kind == "image":
                name = "image"
            elif kind == "cubemap":
                if CUBE_PASS in raw:
                    raise ShaderSourceError(shown, None, f"renderpass {label!r}: more than one "
                                            "cube-map renderpass (shadertoy.com has only Cube A)")
                name = CUBE_PASS
            else:
                letter = re.sub(r"\s+", "", label.lower())
                name = {"buffera": "buffer_a", "bufferb": "buffer_b", "bufferc": "buffer_c",
                        "bufferd": "buffer_d"}.get(letter) or next(unnamed, "")
                if not name or name in raw:
                    raise ShaderSourceError(shown, None, f"renderpass {label!r}: more than four "
                                            "buffers, or two with the same name")
            if name in raw:
                raise ShaderSourceError(shown, None, "more than one image renderpass")
            raw[name] = _RawPass(name, _code(code, origin), [None] * 4)
            pass_of[index] = name
            for out in rp.get("outputs") or []:
                if isinstance(out, dict) and "id" in out and kind in ("buffer", "cubemap"):
                    buffer_ids[str(out["id"])] = name
        else:
            warnings.append(f"{origin}: renderpass type {kind!r} is unknown (ignored)")
    if "image" not in raw:
        raise ShaderSourceError(shown, None, "the export has no image renderpass")
    for index, name in pass_of.items():
        rp, target = passes[index], raw[name]
        label = rp.get("name") or rp.get("type")
        for inp in rp.get("inputs") or []:
            if not isinstance(inp, dict):
                continue
            channel_index = inp.get("channel")
            if not isinstance(channel_index, int) or not 0 <= channel_index <= 3:
                continue
            channel = _export_channel(inp, buffer_ids, raw, target.name, warnings,
                                      f"{shown} ({label}) iChannel{channel_index}")
            target.channels[channel_index] = channel
    name = str(info.get("name") or path.stem)
    credit = str(info.get("username") or "")
    return _finish(path, name, str(info.get("description", "")), credit, raw, common, warnings,
                   (path,))


def _export_channel(inp: dict, buffer_ids: Mapping[str, str], raw: Mapping[str, _RawPass],
                    pass_name: str, warnings: list[str], where: str) -> Channel | None:
    ctype = str(inp.get("ctype") or inp.get("type") or "").lower()
    src = str(inp.get("src") or inp.get("filepath") or "")
    sampler = inp.get("sampler") if isinstance(inp.get("sampler"), dict) else {}
    filt = sampler.get("filter", "linear")
    filt = filt if filt in FILTERS else "linear"
    wrap = "repeat" if sampler.get("wrap") == "repeat" else "clamp"
    vflip = str(sampler.get("vflip", "true")).lower() == "true"
    if ctype == "buffer":
        name = buffer_ids.get(str(inp.get("id"))) or _LEGACY_BUFFER_IDS.get(str(inp.get("id")))
        match = re.search(r"buffer0(\d)", src)
        if name is None and match and int(match.group(1)) < 4:
            name = BUFFER_NAMES[int(match.group(1))]
        if name is None or name not in raw:
            warnings.append(f"{where}: reads a buffer that is not in the export (reads black)")
            return None
        return Channel(name, "", filt, wrap, vflip)
    if ctype == "cubemap" and CUBE_PASS in raw and (
            buffer_ids.get(str(inp.get("id"))) == CUBE_PASS or "previz/cubemap" in src
            or _LEGACY_BUFFER_IDS.get(str(inp.get("id"))) == CUBE_PASS):
        # The shader's own Cube A pass (shadertoy.com shows it as /media/previz/cubemap00.png).
        return Channel(CUBE_PASS, "", filt, wrap, vflip)
    if ctype in ("texture", "cubemap", "volume"):
        target = {"texture": "2d", "cubemap": "cube", "volume": "3d"}[ctype]
        info = media_for_hash(src, target)
        if info is None:
            fallback = {"2d": "picture", "cube": "cubemap", "3d": "rgba_noise_3d"}[target]
            warnings.append(f"{where}: Shadertoy medium {src or '?'} is not known; a generated "
                            f"{fallback.replace('_', ' ')} stands in")
            info = MEDIA[fallback]
        return Channel("media", info.name, filt, wrap, vflip)
    if ctype == "keyboard":
        return Channel("media", "keyboard", "nearest", "clamp", False)
    if ctype in ("music", "musicstream", "mic", "soundcloud"):
        return Channel("audio", "", filt, "clamp", False)
    if ctype in ("video", "webcam"):
        warnings.append(f"{where}: {ctype} input reads the picture below the layer")
        return Channel("below", "", filt, wrap, False)
    warnings.append(f"{where}: input type {ctype!r} is not supported (reads black)")
    return None


# ---- translation ----


def _finish(path: Path, name: str, description: str, credit: str, raw: dict[str, _RawPass],
            common: MappedSource | None, warnings: list[str], files: tuple[Path, ...]) -> Shadertoy:
    shown = display_path(path)
    if "image" not in raw:
        raise ShaderSourceError(shown, None, "no image pass: a Shadertoy folder needs image.glsl")
    passes = [_translate(raw[n], common, shown) for n in PASS_ORDER if n in raw]
    return Shadertoy(path, name, description, credit, passes, warnings, files)


def _space_macro_parameters(line: str, params: list[str]) -> tuple[str, list[str]]:
    """Put spaces around each parameter in the body of a function-like ``#define``.

    Mesa's preprocessor glues an argument's first or last token to the punctuation beside the
    parameter (``#define F(p, a) (p-a)`` with ``F(q, -z)`` reads ``q--z``, a decrement), where
    GLSL ES (and glslang) keep the tokens apart. Spaces make every reading the same.
    ``params`` are those of a macro continued from the previous line (``\\``), else empty.
    Returns the line and the parameters to carry to the next line (empty when it ends).
    """
    head, body = "", line
    if not params:
        match = _FUNCTION_MACRO_RE.match(line)
        head, body = match.group(1), match.group(3)
        params = [p.strip() for p in match.group(2).split(",") if p.strip() and p.strip() != "..."]
    if params:
        body = re.sub(r"\b(" + "|".join(map(re.escape, params)) + r")\b", r" \1 ", body)
    return head + body, (params if line.rstrip().endswith("\\") else [])


def _join_continued_lines(code: MappedSource) -> MappedSource:
    """Join each line ending in a backslash with the next one.

    GLSL ES 3.00 continues such lines (Shadertoys write long macros that way); desktop GLSL
    does only from 4.20, and strict compilers refuse it in 330. Each line taken into the one
    before leaves an empty line in its place, so later line numbers still match the source.
    """
    out = MappedSource()
    lines, origins = code.lines, code.origins
    i = 0
    while i < len(lines):
        text, first, taken = lines[i], origins[i], []
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1] + " " + lines[i]
            taken.append(origins[i])
        out.append(text, first.file, first.line)
        for origin in taken:
            out.append("", origin.file, origin.line)
        i += 1
    return out


def _translate(raw: _RawPass, common: MappedSource | None, file: str) -> ShadertoyPass:
    """GLSL 330 core for one pass: uniforms, channels, common code, the pass, a main()."""
    body = MappedSource()
    extensions: list[tuple[str, str, int | None]] = []
    for source in ([common] if common is not None else []) + [raw.code]:
        macro_params: list[str] = []  # of the #define continued on the next line, if any
        for text, origin in zip(source.lines, source.origins, strict=True):
            if macro_params or _FUNCTION_MACRO_RE.match(text):
                text, macro_params = _space_macro_parameters(text, macro_params)
            if _VERSION_RE.match(text):
                text = ""
            elif _EXTENSION_RE.match(text):
                name = _EXTENSION_NAME_RE.match(text)
                if not (name and name.group(1) in _CORE_IN_330_EXTENSIONS):
                    extensions.append((text.strip(), origin.file, origin.line))
                text = ""
            else:
                # Old shaders written for WebGL 1 still use texture2D and friends; the rest is
                # GLSL ES 3.00, which desktop GLSL 330 reads as is but for a few type names it
                # reserves (renamed here).
                text = _WEBGL1_TEXTURE_RE.sub(lambda m: _WEBGL1_TEXTURE_FUNCTIONS[m.group(1)] + "(", text)
                text = _DESKTOP_ONLY_RE.sub(r"_es_\1", text)
            body.append(text, origin.file, origin.line)
    body = _join_continued_lines(body)
    plain = strip_comments("\n".join(body.lines))
    identifiers = set(_IDENT_RE.findall(plain))
    if raw.name == CUBE_PASS:
        if "mainCubemap" not in identifiers:
            origin = raw.code.origins[0].file if raw.code.origins else file
            raise ShaderSourceError(origin, None, "no mainCubemap(out vec4 fragColor, in vec2 "
                                    "fragCoord, in vec3 rayOri, in vec3 rayDir) function: a "
                                    "cube-map pass renders through mainCubemap")
        old_style = False
    else:
        old_style = "mainImage" not in identifiers and _OLD_MAIN_RE.search(plain) is not None
    if raw.name != CUBE_PASS and "mainImage" not in identifiers and not old_style:
        origin = raw.code.origins[0].file if raw.code.origins else file
        raise ShaderSourceError(origin, None, "no mainImage(out vec4 fragColor, in vec2 fragCoord) "
                                "function (nor an old-style main() writing gl_FragColor): is this "
                                "a Shadertoy pass?")
    if old_style:
        # Its main() becomes a function our main() calls; what it writes to gl_FragColor goes
        # to our output (gl_FragColor does not exist in GLSL 330 core).
        old_body, body = body, MappedSource()
        for text, origin in zip(old_body.lines, old_body.origins, strict=True):
            text = _FRAG_COLOR_RE.sub(_OUTPUT, _OLD_MAIN_RE.sub("void _echoel_main(", text))
            body.append(text, origin.file, origin.line)
    own = global_declared_names(plain, [*UNIFORM_DECLARATIONS, *CHANNEL_NAMES, "iGlobalTime"])
    out = MappedSource()
    gen = raw.code.origins[0].file if raw.code.origins else file
    out.append("#version 330 core", gen, None)
    if identifiers & _PACKING_FUNCTIONS:
        out.append("#extension GL_ARB_shading_language_packing : require", gen, None)
    for text, origin_file, origin_line in extensions:
        out.append(text, origin_file, origin_line)
    out.append("#define HW_PERFORMANCE 1", gen, None)
    out.append("#define ECHOEL_LIVE 1", gen, None)
    for name, declaration in UNIFORM_DECLARATIONS.items():
        if name not in own:
            out.append(declaration, gen, None)
    if "iGlobalTime" in identifiers and "iGlobalTime" not in own and "iTime" not in own:
        out.append("#define iGlobalTime iTime", gen, None)  # the name before 2017
    for index, name in enumerate(CHANNEL_NAMES):
        if name not in own:
            channel = raw.channels[index]
            sampler = channel.glsl_sampler if channel is not None else "sampler2D"
            out.append(f"uniform {sampler} {name};", gen, None)
    out.append(f"out vec4 {_OUTPUT};", gen, None)
    out.extend(body)
    # The wrapper's names are the engine's own, and mainImage is #undef'd, so that a macro of
    # the shader (#define color ..., #define mainImage(o, u) ...) cannot rewrite the call.
    color = "_echoel_color"
    final = f"vec4(clamp({color}.rgb, 0.0, 1.0), 1.0)" if raw.name == "image" else color
    if raw.name == CUBE_PASS:
        # shadertoy.com renders each face with the ray through the pixel's centre, from the
        # origin; _echoel_face maps (s, t, 1) in -1..1 of the face to that face's direction,
        # in GL's cube-map orientation, so texture(cube, dir) reads what mainCubemap wrote.
        lines = ("#undef main", "#undef mainCubemap", "uniform mat3 _echoel_face;", "void main() {",
                 f"    vec4 {color} = vec4(0.0, 0.0, 0.0, 1.0);",
                 "    vec2 _echoel_st = gl_FragCoord.xy / iResolution.xy * 2.0 - 1.0;",
                 "    vec3 _echoel_dir = normalize(_echoel_face * vec3(_echoel_st, 1.0));",
                 f"    mainCubemap({color}, gl_FragCoord.xy, vec3(0.0), _echoel_dir);",
                 f"    {_OUTPUT} = {color};", "}")
    elif old_style:
        lines = ("#undef main", "void main() {", f"    {_OUTPUT} = vec4(0.0, 0.0, 0.0, 1.0);",
                 "    _echoel_main();", f"    vec4 {color} = {_OUTPUT};", f"    {_OUTPUT} = {final};", "}")
    else:
        lines = ("#undef main", "#undef mainImage", "void main() {",
                 f"    vec4 {color} = vec4(0.0, 0.0, 0.0, 1.0);",
                 f"    mainImage({color}, gl_FragCoord.xy);",
                 f"    {_OUTPUT} = {final};", "}")
    for line in lines:
        out.append(line, gen, None)
    return ShadertoyPass(raw.name, tuple(raw.channels), out.text(), out)


# --------------------------------------------------------------------------------------------
# Rendering (render thread)
# --------------------------------------------------------------------------------------------

_VERTEX = """#version 330 core
void main() {
    // One triangle covering the viewport; no vertex buffer needed.
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
# Packs the engine's 512x1 FFT and waveform textures into Shadertoy's 512x2 layout.
_AUDIO_FRAGMENT = """#version 330 core
uniform sampler2D fft;
uniform sampler2D wave;
uniform bool have_wave;
out vec4 value;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    float v = p.y == 0 ? texelFetch(fft, ivec2(p.x, 0), 0).r
                       : (have_wave ? texelFetch(wave, ivec2(p.x, 0), 0).r : 0.5);
    value = vec4(v, 0.0, 0.0, 1.0);
}
"""


#: Per cube face (+x, -x, +y, -y, +z, -z), the columns of the matrix taking (s, t, 1), with s
#: and t in -1..1 across the face's texels, to the direction GL's cube-map lookup sends to that
#: texel (OpenGL 4.6 core, table 8.19, solved for the direction).
CUBE_FACE_MATRICES = (
    ((0, 0, -1), (0, -1, 0), (1, 0, 0)),
    ((0, 0, 1), (0, -1, 0), (-1, 0, 0)),
    ((1, 0, 0), (0, 0, 1), (0, 1, 0)),
    ((1, 0, 0), (0, 0, -1), (0, -1, 0)),
    ((1, 0, 0), (0, -1, 0), (0, 0, 1)),
    ((-1, 0, 0), (0, -1, 0), (0, 0, -1)),
)
_GL_FRAMEBUFFER = 0x8D40
_GL_FRAMEBUFFER_BINDING = 0x8CA6
_GL_COLOR_ATTACHMENT0 = 0x8CE0
_GL_TEXTURE_CUBE_MAP_POSITIVE_X = 0x8515
_GL_TEXTURE_CUBE_MAP_SEAMLESS = 0x884F


def cube_face_size(size: tuple[int, int]) -> int:
    """Face size of a cube-map pass for a layer of ``size``: the next power of two of the
    longer side, within CUBE_FACE_MIN .. CUBE_FACE_MAX. Any thread."""
    longest = max(int(size[0]), int(size[1]), 1)
    return min(max(1 << (longest - 1).bit_length(), CUBE_FACE_MIN), CUBE_FACE_MAX)


class _GLFaceBinder:
    """The three raw GL calls moderngl lacks for rendering into a cube-map face.

    moderngl (5.x) attaches only 2D textures and renderbuffers to framebuffers; the face of a
    cube texture is attached here with glFramebufferTexture2D, called through ctypes on the GL
    library of the current context (glvnd's libOpenGL dispatches to whichever of EGL or GLX made
    it current). Render thread only.

    Raises:
        UnsupportedFeatureError: when no GL library with these functions can be loaded.
    """

    def __init__(self, shown: str) -> None:
        import ctypes
        import ctypes.util
        import sys

        names = (["/System/Library/Frameworks/OpenGL.framework/OpenGL"] if sys.platform == "darwin"
                 else ["libOpenGL.so.0", "libGL.so.1", ctypes.util.find_library("OpenGL"),
                       ctypes.util.find_library("GL")])
        lib = None
        for name in filter(None, names):
            try:
                candidate = ctypes.CDLL(name)
                candidate.glFramebufferTexture2D  # noqa: B018 - probe for the symbol
            except (OSError, AttributeError):
                continue
            lib = candidate
            break
        if lib is None:
            raise UnsupportedFeatureError(shown, None, "cube-map render passes need "
                                          "glFramebufferTexture2D from the system's OpenGL "
                                          "library, which could not be loaded here", "cubemap_pass")
        self._bind = lib.glBindFramebuffer
        self._bind.argtypes = (ctypes.c_uint, ctypes.c_uint)
        self._attach = lib.glFramebufferTexture2D
        self._attach.argtypes = (ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_int)
        self._get = lib.glGetIntegerv
        self._get.argtypes = (ctypes.c_uint, ctypes.POINTER(ctypes.c_int))
        self._enable = lib.glEnable
        self._enable.argtypes = (ctypes.c_uint,)
        self._ctypes = ctypes

    def attach_face(self, fbo_glo: int, cube_glo: int, face: int) -> None:
        """Make face ``face`` (0..5: +x, -x, +y, -y, +z, -z) of cube texture ``cube_glo`` the
        colour attachment of framebuffer ``fbo_glo``, keeping the current binding."""
        previous = self._ctypes.c_int(0)
        self._get(_GL_FRAMEBUFFER_BINDING, self._ctypes.byref(previous))
        self._bind(_GL_FRAMEBUFFER, fbo_glo)
        self._attach(_GL_FRAMEBUFFER, _GL_COLOR_ATTACHMENT0, _GL_TEXTURE_CUBE_MAP_POSITIVE_X + face,
                     cube_glo, 0)
        self._bind(_GL_FRAMEBUFFER, previous.value)

    def seamless_cube_maps(self) -> None:
        """Filter across cube faces, as WebGL 2 always does (desktop GL does not by default)."""
        self._enable(_GL_TEXTURE_CUBE_MAP_SEAMLESS)


class _CubeBuffer:
    """The cube map a cube-map pass renders: two RGBA16F cube textures used in turn (like
    buffers, so the pass may read its previous frame), each face attached to a framebuffer.
    Render thread only."""

    def __init__(self, ctx: Any, binder: _GLFaceBinder) -> None:
        self.ctx = ctx
        self.binder = binder
        self.size = 0
        self.textures: list[Any] = []
        self.fbos: list[list[Any]] = []  # per texture, one framebuffer per face
        self._dummy: Any = None
        self.front = 0

    def ensure(self, face_size: int) -> None:
        """(Re)create both cube textures at ``face_size``, cleared to transparent black."""
        if face_size == self.size:
            return
        self.release()
        # moderngl needs a 2D attachment to build a framebuffer; each then gets a cube face.
        self._dummy = self.ctx.texture((face_size, face_size), 4, dtype="f2")
        for _ in range(2):
            cube = self.ctx.texture_cube((face_size, face_size), 4, dtype="f2")
            faces = []
            for face in range(6):
                fbo = self.ctx.framebuffer(color_attachments=[self._dummy])
                self.binder.attach_face(fbo.glo, cube.glo, face)
                fbo.clear(0.0, 0.0, 0.0, 0.0)
                faces.append(fbo)
            self.textures.append(cube)
            self.fbos.append(faces)
        self.size = face_size
        self.front = 0

    @property
    def front_texture(self) -> Any:
        return self.textures[self.front]

    @property
    def back_fbos(self) -> list[Any]:
        return self.fbos[1 - self.front]

    def swap(self) -> None:
        self.front = 1 - self.front

    def release(self) -> None:
        for faces in self.fbos:
            for fbo in faces:
                fbo.release()
        for obj in [*self.textures, self._dummy]:
            if obj is not None:
                obj.release()
        self.textures, self.fbos, self._dummy, self.size = [], [], None, 0


class ShadertoyRenderer:
    """Compiles a Shadertoy's passes and renders them into the engine's layer buffer.

    Render thread only. Construction compiles every pass and makes the media stand-ins; each
    :meth:`render` runs the buffers and the image pass; :meth:`release` frees the GL objects.
    Buffers are RGBA32F at the render size, cleared when the size changes; a cube-map pass
    renders its six faces into an RGBA16F cube map of cube_face_size(render size) (or
    ``cube_size``), kept between frames the same way. Sampler objects
    carry each channel's filter and wrap, so one texture can be read differently by two
    channels; they are unbound after each frame so other programs see plain texture state.

    Args:
        ctx: The render thread's context.
        shader: The loaded Shadertoy.
        sample_rate: Reported as iSampleRate.
        cube_size: Face size of the cube-map pass in pixels; None follows the render size
            (:func:`cube_face_size`).

    Raises:
        ShaderSourceError: a pass does not compile (naming its file and line).
        UnsupportedFeatureError: the shader has a cube-map pass and this GL cannot render
            into cube maps.
    """

    def __init__(self, ctx: Any, shader: Shadertoy, *, sample_rate: float = DEFAULT_SAMPLE_RATE,
                 cube_size: int | None = None) -> None:
        import moderngl

        from live.render.program import _PassBuffer

        self.ctx = ctx
        self.shader = shader
        self.sample_rate = float(sample_rate)
        self._gl = moderngl
        self._objects: list[Any] = []
        self._black = ctx.texture((1, 1), 4, bytes(4))
        self._black3d = ctx.texture3d((1, 1, 1), 4, bytes(4))
        self._black_cube = ctx.texture_cube((1, 1), 4, bytes(24))
        self._media: dict[str, Any] = {}
        self._images: dict[tuple[str, bool], Any] = {}
        self._buffers = {name: _PassBuffer(ctx, name, True, True) for name in shader.buffers}
        self._cube: _CubeBuffer | None = None
        self.cube_size = cube_size
        if shader.has_cube_pass:
            binder = _GLFaceBinder(shader.display_name)
            binder.seamless_cube_maps()
            self._cube = _CubeBuffer(ctx, binder)
        self._mipmapped = {c.source for c in shader.channels() if c.filter == "mipmap"}
        self._audio = None
        self._frame = 0
        self._passes = []
        try:
            for p in shader.passes:
                self._passes.append(self._plan(p))
        except BaseException:
            self.release()
            raise

    # ---- construction ----

    def _plan(self, p: ShadertoyPass) -> dict:
        moderngl = self._gl
        try:
            program = self.ctx.program(vertex_shader=_VERTEX, fragment_shader=p.fragment_source)
        except moderngl.Error as exc:
            raise compile_error(str(exc), p.fragment_map, self.shader.display_name, "fragment") from None
        self._objects.append(program)
        vao = self.ctx.vertex_array(program, [])
        self._objects.append(vao)
        # iGlobalTime: old shaders that declare it themselves get the time under that name.
        uniforms = {name: program.get(name, None) for name in (*UNIFORM_DECLARATIONS, "iGlobalTime")}
        uniforms = {k: v for k, v in uniforms.items() if isinstance(v, moderngl.Uniform)}
        face = program.get("_echoel_face", None)
        channels = []
        for index, channel in enumerate(p.channels):
            uniform = program.get(CHANNEL_NAMES[index], None)
            active = isinstance(uniform, moderngl.Uniform)
            if active:
                uniform.value = index
            elif channel is None:
                continue  # neither sampled nor bound: nothing to do
            sampler = None
            if channel is not None:
                sampler = self.ctx.sampler(repeat_x=channel.wrap == "repeat",
                                           repeat_y=channel.wrap == "repeat",
                                           repeat_z=channel.wrap == "repeat",
                                           filter=self._filter(channel.filter))
                self._objects.append(sampler)
                if channel.source == "media":
                    self._media_texture(channel.argument)
                elif channel.source == "image":
                    self._image_texture(channel.argument, channel.vflip)
                elif channel.source == "audio" and self._audio is None:
                    self._make_audio()
            # An unsampled channel still has a size (iChannelResolution) but is not bound.
            channels.append((index, channel, sampler if active else None, active))
        return {"pass": p, "program": program, "vao": vao, "uniforms": uniforms,
                "channels": channels, "buffer": self._buffers.get(p.name),
                "face": face if p.name == CUBE_PASS else None}

    def _filter(self, name: str) -> tuple[int, int]:
        gl = self._gl
        if name == "nearest":
            return (gl.NEAREST, gl.NEAREST)
        if name == "mipmap":
            return (gl.LINEAR_MIPMAP_LINEAR, gl.LINEAR)
        return (gl.LINEAR, gl.LINEAR)

    def _media_texture(self, name: str) -> Any:
        if name not in self._media:
            info = MEDIA[name]
            pixels = standin_media(name)
            if info.target == "cube":
                size = pixels.shape[1]
                tex = self.ctx.texture_cube((size, size), 4, np.ascontiguousarray(pixels).tobytes())
            elif info.target == "3d":
                d, h, w, c = pixels.shape
                tex = self.ctx.texture3d((w, h, d), c, np.ascontiguousarray(pixels).tobytes())
            else:
                h, w, c = pixels.shape
                tex = self.ctx.texture((w, h), c, np.ascontiguousarray(pixels).tobytes())
            if info.style != "keyboard":
                tex.build_mipmaps()
            self._media[name] = tex
        return self._media[name]

    def _image_texture(self, file: str, vflip: bool) -> Any:
        key = (file, vflip)
        if key not in self._images:
            from live.render.program import decode_image_rgba

            pixels = decode_image_rgba(Path(file))
            if vflip:  # decoded top row first; GL's first row is the bottom one
                pixels = pixels[::-1]
            h, w = pixels.shape[:2]
            tex = self.ctx.texture((w, h), 4, np.ascontiguousarray(pixels).tobytes())
            tex.build_mipmaps()
            self._images[key] = tex
        return self._images[key]

    def _make_audio(self) -> None:
        tex = self.ctx.texture((AUDIO_TEXTURE_WIDTH, 2), 1, dtype="f4")
        fbo = self.ctx.framebuffer(color_attachments=[tex])
        prog = self.ctx.program(vertex_shader=_VERTEX, fragment_shader=_AUDIO_FRAGMENT)
        prog["fft"].value = 0
        prog["wave"].value = 1
        vao = self.ctx.vertex_array(prog, [])
        self._audio = (tex, fbo, prog, vao)

    # ---- per frame ----

    def render(self, fbo: Any, size: tuple[int, int], params: Mapping[str, Any],
               images: Mapping[str, Any], engine: Any, *, over_black: bool = False) -> None:
        """Run the buffer passes, then the image pass into ``fbo`` (viewport ``0, 0, *size``).

        Render thread, once per frame. The image pass writes opaque colour (Shadertoy shows
        its image opaque), so ``over_black`` needs no blending and is accepted for the
        layer interface's sake.

        Args:
            fbo: The layer's buffer.
            size: Render size in pixels (iResolution; the buffers' size).
            params: ``mouse_x``, ``mouse_y`` (0..1) and ``mouse_down`` (bool); missing is 0.
            images: Textures for ``below`` and for ``layer:<id>`` channels, by id.
            engine: This frame's EngineUniforms (time, audio textures, date).
        """
        ctx = self.ctx
        ctx.enable_only(self._gl.NOTHING)
        width, height = size
        for buffer in self._buffers.values():
            buffer.ensure((width, height))
        face_size = self.cube_size or cube_face_size(size)
        if self._cube is not None:
            self._cube.ensure(face_size)
        if self._audio is not None:
            self._update_audio(engine)
        values = self._frame_values(size, params, engine)
        try:
            for plan in self._passes:
                buffer = plan["buffer"]
                resolutions = self._bind_channels(plan, images, size)
                if plan["pass"].name == CUBE_PASS:
                    values["iResolution"] = (float(face_size), float(face_size), 1.0)
                else:
                    values["iResolution"] = (float(width), float(height), 1.0)
                for name, uniform in plan["uniforms"].items():
                    if name == "iChannelResolution":
                        uniform.write(np.asarray(resolutions, np.float32).tobytes()[:uniform.array_length * 12])
                    elif name == "iChannelTime":
                        # The compiler keeps only the elements the code reads.
                        n = uniform.array_length
                        uniform.value = values[name][0] if n == 1 else values[name][:n]
                    else:
                        uniform.value = values[name]
                if plan["pass"].name == CUBE_PASS:
                    self._render_cube(plan, face_size)
                    continue
                target = buffer.back_fbo if buffer is not None else fbo
                target.viewport = (0, 0, width, height)
                target.use()
                plan["vao"].render(self._gl.TRIANGLES, vertices=3)
                if buffer is not None:
                    buffer.swap()
                    if plan["pass"].name in self._mipmapped:
                        buffer.front_texture.build_mipmaps()
                for index, _, sampler, _ in plan["channels"]:
                    if sampler is not None:
                        sampler.clear(index)
        finally:
            self._frame += 1

    def _render_cube(self, plan: dict, face_size: int) -> None:
        """The six faces of the cube-map pass, into the back cube map, then swap."""
        cube = self._cube
        for face, fbo in enumerate(cube.back_fbos):
            if plan["face"] is not None:
                plan["face"].value = tuple(float(v) for column in CUBE_FACE_MATRICES[face]
                                           for v in column)
            fbo.viewport = (0, 0, face_size, face_size)
            fbo.use()
            plan["vao"].render(self._gl.TRIANGLES, vertices=3)
        cube.swap()
        if CUBE_PASS in self._mipmapped:
            cube.front_texture.build_mipmaps()
        for index, _, sampler, _ in plan["channels"]:
            if sampler is not None:
                sampler.clear(index)

    def _frame_values(self, size: tuple[int, int], params: Mapping[str, Any], engine: Any) -> dict:
        width, height = size
        mx = float(params.get("mouse_x", 0.0)) * width
        my = float(params.get("mouse_y", 0.0)) * height
        down = bool(params.get("mouse_down", False))
        dt = float(engine.timedelta)
        t = float(engine.time)
        return {
            "iResolution": (float(width), float(height), 1.0),
            "iTime": t,
            "iGlobalTime": t,
            "iTimeDelta": dt,
            "iFrame": self._frame,
            "iFrameRate": 1.0 / dt if dt > 0 else 60.0,
            # Shadertoy: xy is the pointer, zw the click position, negative once released.
            "iMouse": (mx, my, mx if down else -mx, my if down else -my),
            "iDate": tuple(float(v) for v in engine.date),
            "iSampleRate": self.sample_rate,
            "iChannelTime": (t, t, t, t),
        }

    def _bind_channels(self, plan: dict, images: Mapping[str, Any],
                       size: tuple[int, int]) -> list[tuple[float, float, float]]:
        resolutions = [(0.0, 0.0, 0.0)] * 4
        for index, channel, sampler, active in plan["channels"]:
            texture = self._texture_for(channel, images)
            if not active:
                pass
            elif sampler is not None:
                sampler.texture = texture
                sampler.use(index)
            else:
                texture.use(index)
            dims = getattr(texture, "size", (1, 1))
            depth = dims[2] if len(dims) > 2 else 1
            resolutions[index] = (float(dims[0]), float(dims[1]), float(depth))
        return resolutions

    def _texture_for(self, channel: Channel | None, images: Mapping[str, Any]) -> Any:
        if channel is None:
            return self._black
        source = channel.source
        if source in self._buffers:
            buffer = self._buffers[source]
            return buffer.front_texture if buffer.textures else self._black
        if source == CUBE_PASS:
            return self._cube.front_texture if self._cube.textures else self._black_cube
        if source == "media":
            return self._media[channel.argument]
        if source == "image":
            return self._images[(channel.argument, channel.vflip)]
        if source == "audio":
            return self._audio[0]
        if source == "below":
            return images.get("below") or self._black
        if source == "layer":
            return images.get(channel.argument) or self._black
        return {"3d": self._black3d, "cube": self._black_cube}.get(channel.target, self._black)

    def _update_audio(self, engine: Any) -> None:
        _, fbo, prog, vao = self._audio
        fft = getattr(engine, "audio_fft", None)
        wave = getattr(engine, "audio_wave", None)
        (fft or self._black).use(0)
        (wave or self._black).use(1)
        prog["have_wave"].value = wave is not None
        fbo.use()
        vao.render(self._gl.TRIANGLES, vertices=3)

    # ---- introspection and cleanup ----

    @property
    def frame(self) -> int:
        """Frames rendered so far (the next frame's iFrame)."""
        return self._frame

    def buffer_texture(self, name: str) -> Any | None:
        """The latest content of buffer ``name`` (None before the first frame). Render thread."""
        buffer = self._buffers.get(name)
        return buffer.front_texture if buffer is not None and buffer.textures else None

    def cube_texture(self) -> Any | None:
        """The latest content of the cube-map pass (a TextureCube; None without a cube pass or
        before the first frame). Render thread."""
        return self._cube.front_texture if self._cube is not None and self._cube.textures else None

    def release(self) -> None:
        """Free every GL object this renderer made. Render thread."""
        for buffer in self._buffers.values():
            buffer.release()
        if self._cube is not None:
            self._cube.release()
        for obj in [*self._objects, *self._media.values(), *self._images.values(),
                    self._black, self._black3d, self._black_cube]:
            obj.release()
        if self._audio is not None:
            from live.render.context import release_framebuffers

            tex, fbo, prog, vao = self._audio
            vao.release()
            prog.release()
            release_framebuffers(self.ctx, fbo, tex)
            self._audio = None
        self._objects, self._media, self._images = [], {}, {}
