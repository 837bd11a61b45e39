"""Picture layers: a texture drawn into the layer with a fit mode, and the still-image layer.

`PictureLayer` is what image and video layers share: opening media files with clear errors, the
fit maths (cover, contain, stretch), and the one draw that puts a picture texture into the layer.
`ImageLayer` shows one still image (PNG, JPEG, WebP, anything PyAV's FFmpeg reads as a picture).
The video layer (video.py) is a `PictureLayer` whose texture changes with playback.

Pictures are uploaded as RGBA8 with straight alpha, top row first, which is already the layer
contract (straight alpha, sRGB-encoded values); RGB uploads are avoided because Mesa converts them
slowly. Everything here runs on the render thread, except the file helpers (`open_media`,
`decode_still`), which run on whichever thread loads the scene.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import moderngl
import numpy as np

from live.render.compositor import FULLSCREEN_VERTEX
from live.render.context import release_framebuffers
from live.render.isf import ShaderParamError
from live.render.layers.base import FrameInputs, Layer, LayerBuildError, build_fx_chain, float_target
from live.scene import FIT_MODES, LayerSpec, did_you_mean, media_param_problem

if TYPE_CHECKING:
    from live.engine import ShaderLibrary


class MediaFileError(ValueError):
    """A media file that cannot be used (missing, unreadable, not media, no picture, undecodable).

    The message names the file and the reason; `path` and `reason` hold them separately.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class MediaParamError(ShaderParamError):
    """A bad value or name for a media layer's parameter (a ShaderParamError, so callers that
    set parameters handle shader and media layers alike)."""


def open_media(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open `path` with PyAV and return (container, first picture stream).

    Any thread. Raises MediaFileError naming the file: missing, a folder, unreadable, not a
    format FFmpeg reads, no picture stream, or no decoder for its codec in this FFmpeg build.
    """
    path = Path(path)
    if not path.exists():
        raise MediaFileError(path, "no such file")
    if path.is_dir():
        raise MediaFileError(path, "is a folder, not a video or image file")
    try:
        container = av.open(str(path), mode="r")
    except PermissionError:
        raise MediaFileError(path, "cannot read the file: permission denied") from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaFileError(path, f"not a video or image FFmpeg can read ({_av_reason(exc)})") from None
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise MediaFileError(path, f"has no picture stream (it holds: {', '.join(kinds)})")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise MediaFileError(path, f"no decoder for its codec '{stream.codec.name}' in this "
                                 "FFmpeg build")
        return container, stream
    except BaseException:
        container.close()
        raise


def decode_still(path: Path) -> av.VideoFrame:
    """The first picture of an image (or video) file, decoded. Any thread.

    Raises MediaFileError when the file cannot be opened or its first picture cannot be decoded.
    """
    container, stream = open_media(path)
    try:
        with container:
            for frame in container.decode(stream):
                return frame
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaFileError(path, f"cannot decode its picture ({_av_reason(exc)})") from None
    raise MediaFileError(path, "holds no picture (the stream is empty)")


def _av_reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without PyAV's repetition of the file name."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip() or type(exc).__name__


def to_rgba(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded frame as uint8 RGBA (height, width, 4), top row first, straight alpha.

    `size` (width, height) scales in the same swscale pass. Formats without alpha come out
    opaque. Any thread (runs on the video decoder's thread for videos).
    """
    width, height = size if size is not None else (frame.width, frame.height)
    if (width, height) != (frame.width, frame.height) or frame.format.name != "rgba":
        frame = frame.reformat(width=width, height=height, format="rgba",
                               interpolation="AREA" if width < frame.width else "BILINEAR")
    # Rows may be padded to FFmpeg's line alignment; the texture upload needs them packed.
    return np.ascontiguousarray(frame.to_ndarray())


def fit_extent(mode: str, picture: tuple[int, int], layer: tuple[int, int]) -> tuple[float, float]:
    """How much of the layer the picture spans on each axis (1 = edge to edge, >1 = cropped).

    cover scales the picture to fill the layer (cropping the overflow), contain scales it to fit
    whole inside (transparent bars), stretch fills the layer ignoring the aspect ratio. Any thread.
    """
    if mode == "stretch":
        return (1.0, 1.0)
    sx, sy = layer[0] / picture[0], layer[1] / picture[1]
    s = max(sx, sy) if mode == "cover" else min(sx, sy)
    return (picture[0] * s / layer[0], picture[1] * s / layer[1])


def upload_size(picture: tuple[int, int], layer: tuple[int, int]) -> tuple[int, int]:
    """The size to upload a picture at: scaled down (never up) to what the layer can show.

    Pictures larger than the layer are scaled down so that "cover" (the mode needing the most
    pixels) still gets one picture pixel per layer pixel; smaller pictures keep their size and
    the GPU scales them up. Saves upload time for 4K clips on a 720p show. Any thread.
    """
    s = max(layer[0] / picture[0], layer[1] / picture[1])
    if s >= 1.0:
        return picture
    return (max(1, round(picture[0] * s)), max(1, round(picture[1] * s)))


_PICTURE_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_picture;  // straight-alpha RGBA, uploaded top row first
uniform vec2 u_extent;        // share of the layer the picture spans per axis (fit_extent)
void main() {
    vec2 uv = (v_uv - 0.5) / u_extent + 0.5;
    if (any(lessThan(uv, vec2(0.0))) || any(greaterThan(uv, vec2(1.0)))) {
        f_color = vec4(0.0);  // outside the picture (contain's bars): transparent
        return;
    }
    f_color = texture(u_picture, vec2(uv.x, 1.0 - uv.y));
}
"""


class PictureLayer(Layer):
    """A layer that draws a picture texture with a fit mode. Render thread.

    Subclasses implement `build`, `setup_picture` (allocate at the layer size) and `picture`
    (the texture and its size for this frame), plus their own parameters besides ``fit``.
    """

    #: Parameter names this kind accepts (scene.MEDIA_PARAMS of its kind).
    PARAMS: tuple[str, ...] = ("fit",)
    #: Parameters a mapping may drive with one float.
    MAPPABLE: tuple[str, ...] = ()

    def __init__(self, spec: LayerSpec, fx, path: Path) -> None:
        super().__init__(spec, fx)
        self.path = Path(path)
        self.fit = str(spec.params.get("fit", "cover"))
        self._prog: moderngl.Program | None = None
        self._vao: moderngl.VertexArray | None = None
        self._target: tuple[moderngl.Texture, moderngl.Framebuffer] | None = None

    # -- subclass hooks -------------------------------------------------------------------------
    @abc.abstractmethod
    def setup_picture(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        """Allocate what the picture needs for a layer of `size` (again on resize)."""

    @abc.abstractmethod
    def picture(self, inputs: FrameInputs) -> tuple[moderngl.Texture, tuple[int, int]] | None:
        """This frame's picture texture and its size in pixels, or None for nothing to show."""

    def release_picture(self) -> None:
        """Free the subclass's GL objects and threads."""

    # -- Layer ----------------------------------------------------------------------------------
    def setup_content(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        if self._prog is None:
            self._prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_PICTURE_FRAGMENT)
            self._prog["u_picture"].value = 0
            self._vao = ctx.vertex_array(self._prog, [])
        if self._target is not None:
            release_framebuffers(ctx, *self._target)
        self._target = float_target(ctx, size)
        self._output = self._target[0]
        self.setup_picture(ctx, size)

    def render_content(self, inputs: FrameInputs) -> moderngl.Texture:
        tex, fbo = self._target
        shown = self.picture(inputs)
        if shown is None:
            fbo.clear(0.0, 0.0, 0.0, 0.0)
        else:
            self.ctx.enable_only(moderngl.NOTHING)
            self._draw(fbo, *shown)
        return tex

    def can_render_direct(self) -> bool:
        return not any(stage.enabled for stage in self.fx)

    def render_direct(self, inputs: FrameInputs, fbo: moderngl.Framebuffer) -> None:
        shown = self.picture(inputs)
        if shown is None:
            return  # the output is already cleared to black
        ctx = self.ctx
        ctx.enable_only(moderngl.BLEND)
        # Source-over with straight alpha onto the opaque black output; keep its alpha.
        ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ZERO, moderngl.ONE)
        ctx.blend_equation = moderngl.FUNC_ADD
        try:
            self._draw(fbo, *shown)
        finally:
            ctx.enable_only(moderngl.NOTHING)

    def _draw(self, fbo: moderngl.Framebuffer, texture: moderngl.Texture, picture_size: tuple[int, int]) -> None:
        fbo.viewport = (0, 0, *self.size)
        fbo.use()
        self._prog["u_extent"].value = fit_extent(self.fit, picture_size, self.size)
        texture.use(0)
        self._vao.render(moderngl.TRIANGLES, vertices=3)

    def release_content(self) -> None:
        self.release_picture()
        if self.ctx is not None and self._target is not None:
            release_framebuffers(self.ctx, *self._target)
        self._target = None
        for obj in (self._vao, self._prog):
            if obj is not None:
                obj.release()
        self._vao = self._prog = None

    # -- parameters -----------------------------------------------------------------------------
    def set_content_param(self, name: str, value: Any) -> None:
        self._check_name(name)
        problem = media_param_problem(name, value)
        if problem:
            raise MediaParamError(f"layer '{self.id}' parameter '{name}': {problem}")
        self.apply_param(name, value)

    def apply_param(self, name: str, value: Any) -> None:
        """Store a validated parameter value (subclasses add theirs)."""
        if name == "fit":
            self.fit = value

    def set_content_mapped(self, name: str, value: float) -> None:
        self.check_content_mappable(name)
        self.apply_mapped(name, value)

    def apply_mapped(self, name: str, value: float) -> None:
        """Apply a mapped float to a MAPPABLE parameter, clamped (never raises)."""

    def check_content_mappable(self, name: str) -> None:
        self._check_name(name)
        if name not in self.MAPPABLE:
            can = ", ".join(self.MAPPABLE) if self.MAPPABLE else "none besides opacity and enabled"
            raise MediaParamError(f"{self.spec.kind} layer '{self.id}': parameter '{name}' cannot be "
                                  f"driven by a signal; mappable: {can}")

    def content_param_names(self) -> list[str]:
        return list(self.MAPPABLE)

    def param_values(self, fx: str | None = None) -> dict[str, Any]:
        """Current values of the layer's own parameters (or of effect `fx`)."""
        if fx is not None:
            return dict(self.fx_stage(fx).params)
        return {name: getattr(self, name) for name in self.PARAMS}

    def _check_name(self, name: str) -> None:
        if name not in self.PARAMS:
            raise MediaParamError(f"{self.spec.kind} layer '{self.id}' has no parameter '{name}'"
                                  f"{did_you_mean(name, self.PARAMS)}; it has: {', '.join(self.PARAMS)}")


class ImageLayer(PictureLayer):
    """A still image (PNG, JPEG, WebP...) with a fit mode and its alpha. Render thread.

    The file is decoded when the scene is built, so a missing or broken image is a load error.
    """

    PARAMS = ("fit",)

    def __init__(self, spec: LayerSpec, fx, path: Path, frame: av.VideoFrame) -> None:
        super().__init__(spec, fx, path)
        self._frame = frame
        self._texture: moderngl.Texture | None = None
        self._picture_size = (frame.width, frame.height)

    @classmethod
    def build(cls, spec: LayerSpec, shaders: ShaderLibrary) -> ImageLayer:
        path = media_path(spec)
        try:
            frame = decode_still(path)
        except MediaFileError as exc:
            raise LayerBuildError("source", str(exc)) from exc
        return cls(spec, build_fx_chain(spec, shaders), path, frame)

    @property
    def picture_size(self) -> tuple[int, int]:
        """The image's size in pixels, as in the file."""
        return self._picture_size

    def setup_picture(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        pixels = to_rgba(self._frame, upload_size(self._picture_size, size))
        if self._texture is not None:
            self._texture.release()
        self._texture = picture_texture(ctx, pixels)

    def picture(self, inputs: FrameInputs) -> tuple[moderngl.Texture, tuple[int, int]] | None:
        return self._texture, self._picture_size

    def release_picture(self) -> None:
        if self._texture is not None:
            self._texture.release()
            self._texture = None


def picture_texture(ctx: moderngl.Context, rgba: np.ndarray) -> moderngl.Texture:
    """An RGBA8 texture holding `rgba` (uint8, height x width x 4), linear filtering, clamped."""
    h, w = rgba.shape[:2]
    tex = ctx.texture((w, h), 4, np.ascontiguousarray(rgba))
    tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
    tex.repeat_x = tex.repeat_y = False
    return tex


def media_path(spec: LayerSpec) -> Path:
    """The media file of a video/image layer (scene.py has joined it to the scene's folder)."""
    if spec.source_path is not None:
        return spec.source_path
    if spec.source is None:
        raise LayerBuildError("source", f"a {spec.kind} layer needs source = \"<file>\"")
    return Path(spec.source)


__all__ = ["FIT_MODES", "ImageLayer", "MediaFileError", "MediaParamError", "PictureLayer",
           "decode_still", "fit_extent", "open_media", "to_rgba", "upload_size"]
