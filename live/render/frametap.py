"""The frame tap: the newest downscaled program picture for readers on other threads.

Previews (the operator monitor's thumbnails, the web UI, a stream) want to look at the show
without slowing it down. The render thread calls `FrameTap.update` once per frame; when someone
is subscribed and the tap's own rate allows, it draws the output texture into a small buffer
with a box filter (one cheap pass), reads that back (a few hundred KB) and puts the picture into
a latest-value slot. Readers never make the render thread wait: `latest` returns the slot's
current picture, `TapSubscription.get` waits on the reader's own thread for a newer one. A
reader that is slow simply skips pictures; nothing queues up.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import moderngl
import numpy as np

from live.render.compositor import FULLSCREEN_VERTEX
from live.render.context import release_framebuffers

#: Width of the tapped picture by default (height follows the output's aspect ratio).
DEFAULT_WIDTH = 320
#: Most tapped pictures per second by default (previews need no more).
DEFAULT_MAX_FPS = 15.0

_DOWNSCALE_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_source;
uniform vec2 u_texel;   // one source texel in uv units
uniform int u_taps;     // bilinear taps per axis; each tap averages 2x2 texels
void main() {
    // A box filter over the source texels under this output pixel: k x k bilinear taps, each
    // placed between four texels, average 2k x 2k texels without aliasing.
    vec4 sum = vec4(0.0);
    float k = float(u_taps);
    for (int y = 0; y < u_taps; ++y) {
        for (int x = 0; x < u_taps; ++x) {
            vec2 offset = (vec2(x, y) - 0.5 * (k - 1.0)) * 2.0 * u_texel;
            sum += texture(u_source, v_uv + offset);
        }
    }
    f_color = sum / (k * k);
}
"""


@dataclass(frozen=True)
class TapFrame:
    """One tapped picture: uint8 RGBA (height, width, 4), top row first, read-only."""

    index: int       # counts tapped pictures from 1
    time: float      # the time passed to `update` (the show's clock), or the index if none
    rgba: np.ndarray


class TapSubscription:
    """A reader's handle: `get` returns pictures newer than the last one it returned."""

    def __init__(self, tap: FrameTap) -> None:
        self._tap = tap
        self._seen = 0
        self.closed = False

    def get(self, timeout: float | None = None) -> TapFrame | None:
        """Wait (on the reader's thread) for a picture newer than the last one returned.

        Returns None when `timeout` seconds pass first or the subscription is closed.
        """
        frame = self._tap._wait_newer(self._seen, timeout, self)
        if frame is not None:
            self._seen = frame.index
        return frame

    def close(self) -> None:
        """Stop receiving; the tap stops working when nobody is subscribed. Any thread."""
        if not self.closed:
            self.closed = True
            self._tap._unsubscribe(self)


class FrameTap:
    """Downscaled copies of a framebuffer's picture, for readers on any thread.

    Args:
        source: the framebuffer to tap, normally `engine.output_fbo`.
        width: width of the tapped picture (height keeps the aspect ratio).
        max_fps: at most this many pictures per second (by the times given to `update`).

    `update` and `release` run on the render thread; `subscribe`, `latest` and the subscription
    methods on any thread.
    """

    def __init__(self, source: moderngl.Framebuffer, width: int = DEFAULT_WIDTH,
                 max_fps: float = DEFAULT_MAX_FPS) -> None:
        sw, sh = source.size
        width = max(1, min(int(width), sw))
        self.size = (width, max(1, round(width * sh / sw)))
        self.source = source
        self.max_fps = float(max_fps)
        self._ctx = ctx = source.ctx
        self._texture = source.color_attachments[0]
        self._prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_DOWNSCALE_FRAGMENT)
        self._prog["u_source"].value = 0
        self._prog["u_texel"].value = (1.0 / sw, 1.0 / sh)
        # Each output pixel covers sw/width source texels; each tap averages two per axis.
        self._prog["u_taps"].value = max(1, min(8, math.ceil(sw / self.size[0] / 2.0)))
        self._vao = ctx.vertex_array(self._prog, [])
        self._small = ctx.texture(self.size, 4)
        self._fbo = ctx.framebuffer(color_attachments=[self._small])
        self._cond = threading.Condition()
        self._frame: TapFrame | None = None
        self._subscribers: list[TapSubscription] = []
        self._last_time: float | None = None
        self._index = 0
        self.taps = 0

    # -- render thread --------------------------------------------------------------------------
    def update(self, t: float | None = None) -> bool:
        """Tap the source now if anyone is subscribed and `max_fps` allows. Render thread.

        `t` is the show's clock time (the rate limit uses it); without it every call taps.
        Returns whether a picture was tapped.
        """
        if not self._subscribers:
            return False
        if (t is not None and self._last_time is not None and self.max_fps > 0
                and t - self._last_time < (1.0 / self.max_fps) * 0.999):
            return False
        ctx = self._ctx
        self._fbo.use()
        self._fbo.viewport = (0, 0, *self.size)
        ctx.disable(moderngl.BLEND)
        ctx.disable(moderngl.DEPTH_TEST)
        self._texture.use(0)
        # The source may use nearest filtering; the box filter wants bilinear taps.
        saved = self._texture.filter
        self._texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._vao.render(moderngl.TRIANGLES, vertices=3)
        self._texture.filter = saved
        data = self._fbo.read(components=4, alignment=1)
        rgba = np.frombuffer(data, dtype=np.uint8).reshape(self.size[1], self.size[0], 4)[::-1].copy()
        rgba.flags.writeable = False  # shared by every reader
        self._index += 1
        self._last_time = t
        frame = TapFrame(self._index, float(t) if t is not None else float(self._index), rgba)
        with self._cond:
            self._frame = frame
            self._cond.notify_all()
        self.taps += 1
        return True

    def release(self) -> None:
        """Free the GL objects and wake every waiting reader. Render thread."""
        with self._cond:
            for sub in self._subscribers:
                sub.closed = True
            self._subscribers.clear()
            self._cond.notify_all()
        release_framebuffers(self._ctx, self._fbo, self._small)
        self._vao.release()
        self._prog.release()

    # -- any thread -----------------------------------------------------------------------------
    def subscribe(self) -> TapSubscription:
        """Start receiving pictures (the tap works only while someone is subscribed)."""
        sub = TapSubscription(self)
        with self._cond:
            self._subscribers.append(sub)
        return sub

    def latest(self) -> TapFrame | None:
        """The newest tapped picture, or None before the first. Never waits."""
        return self._frame

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _unsubscribe(self, sub: TapSubscription) -> None:
        with self._cond:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
            self._cond.notify_all()

    def _wait_newer(self, seen: int, timeout: float | None, sub: TapSubscription) -> TapFrame | None:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sub.closed or (self._frame is not None and self._frame.index > seen), timeout)
            if not ok or sub.closed:
                return None
            return self._frame


__all__ = ["FrameTap", "TapFrame", "TapSubscription"]
