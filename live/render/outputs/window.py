"""GLFW windows: the program output (projector) and the operator monitor.

Context layout: a hidden GLFW window owns the *engine context* (`GlfwHost.ctx`), where the engine
renders. Each visible window has its own GL context created with that context as its share group,
so the engine's picture texture is sampled directly (no copy through the CPU), and a window that
is closed or whose monitor disappears takes only itself away: the engine keeps rendering.

Every function here runs on the main thread, which is the render thread in a windowed show: GLFW
requires window creation and event polling on the main thread. Key callbacks fire inside
`GlfwHost.poll_events()`; they only translate the key and call the `on_key` callback given to the
window (the show enqueues it), never touch the engine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import moderngl

from live.render.outputs.transform import (
    OutputConfigError,
    OutputTransform,
    TransformPass,
)

log = logging.getLogger(__name__)

#: OpenGL version of every window context (core, forward-compatible: what macOS accepts too).
GL_VERSION = (3, 3)


class WindowError(RuntimeError):
    """A window cannot be opened (no display, no GL 3.3, GLFW missing); the message says why."""


@dataclass(frozen=True)
class MonitorInfo:
    """One connected monitor as GLFW reports it (index 0 is the primary monitor)."""

    index: int
    name: str
    width: int
    height: int
    x: int
    y: int
    refresh_hz: int


@dataclass(frozen=True)
class OutputSpec:
    """How to open one output window.

    Attributes:
        name: "program" (the projector) or any other label; used in titles and part names.
        monitor: monitor index (0 = primary) or part of its name; None = primary.
        fullscreen: fullscreen on that monitor at its current video mode, else a window.
        size: window size in pixels when windowed (the render size is independent of it).
        vsync: wait for the vertical blank when presenting.
        transform: flip / rotate / fit / corner-pin of the picture on this output.
    """

    name: str = "program"
    monitor: int | str | None = None
    fullscreen: bool = False
    size: tuple[int, int] = (1280, 720)
    vsync: bool = True
    transform: OutputTransform = field(default_factory=OutputTransform)

    def __post_init__(self) -> None:
        w, h = self.size
        if not (isinstance(w, int) and isinstance(h, int) and 16 <= w <= 16384 and 16 <= h <= 16384):
            raise OutputConfigError(f"output '{self.name}': size {self.size} must be two integers "
                                    "from 16 to 16384")
        if isinstance(self.monitor, int) and self.monitor < 0:
            raise OutputConfigError(f"output '{self.name}': monitor index {self.monitor} must be 0 or more")


@dataclass(frozen=True)
class KeyEvent:
    """A key press from a window: `name` like "right", "h", "ctrl+q", "f1" (see `key_name`)."""

    name: str
    window: str


def display_available(env: dict[str, str] | None = None) -> bool:
    """Whether a window system is reachable: $DISPLAY (X11) or $WAYLAND_DISPLAY is set. Any thread."""
    env = os.environ if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _glfw():
    try:
        import glfw
    except ImportError as exc:  # the wheel bundles GLFW; missing means the package is not installed
        raise WindowError(f"the glfw package is not installed ({exc}); pip install glfw") from exc
    # GLFW errors go to the log (logger "glfw") instead of Python warnings; failures that matter
    # are turned into WindowError with glfw.get_error() where they happen.
    glfw.ERROR_REPORTING = "log"
    return glfw


_KEY_NAMES: dict[int, str] | None = None


def key_name(key: int, mods: int) -> str:
    """Name a GLFW key with its modifiers: "ctrl+shift+q", "right", "page_down", "f5", "1".

    Names are GLFW's KEY_* constants in lower case; the modifiers come first in the order
    ctrl, alt, shift, super. Any thread (pure mapping).
    """
    global _KEY_NAMES
    glfw = _glfw()
    if _KEY_NAMES is None:
        names = {}
        for attr in dir(glfw):
            if attr.startswith("KEY_") and attr not in ("KEY_LAST", "KEY_UNKNOWN"):
                names.setdefault(getattr(glfw, attr), attr[4:].lower())
        _KEY_NAMES = names
    base = _KEY_NAMES.get(key, f"key{key}")
    prefix = ""
    for bit, label in ((glfw.MOD_CONTROL, "ctrl"), (glfw.MOD_ALT, "alt"),
                       (glfw.MOD_SHIFT, "shift"), (glfw.MOD_SUPER, "super")):
        if mods & bit:
            prefix += label + "+"
    return prefix + base


def _decode(name) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name or "")


def list_monitors() -> list[MonitorInfo]:
    """Connected monitors, primary first. Main thread; needs `GlfwHost` (GLFW initialised)."""
    glfw = _glfw()
    out = []
    for i, mon in enumerate(glfw.get_monitors() or []):
        mode = glfw.get_video_mode(mon)
        x, y = glfw.get_monitor_pos(mon)
        out.append(MonitorInfo(i, _decode(glfw.get_monitor_name(mon)), mode.size.width,
                               mode.size.height, x, y, mode.refresh_rate))
    return out


def pick_monitor(selector: int | str | None, monitors: list[MonitorInfo]) -> tuple[MonitorInfo | None, str]:
    """Choose a monitor by index or (case-insensitive) name fragment.

    Returns (monitor, note): the note is empty when the choice was found; otherwise the monitor
    is the primary one (None when none is connected) and the note says what was missing and what
    is connected. Any thread.
    """
    if not monitors:
        return None, "no monitor is connected"
    if selector is None:
        return monitors[0], ""
    if isinstance(selector, int):
        if 0 <= selector < len(monitors):
            return monitors[selector], ""
        missing = f"monitor {selector} is not connected"
    else:
        hits = [m for m in monitors if selector.lower() in m.name.lower()]
        if hits:
            return hits[0], ""
        missing = f"no monitor named '{selector}'"
    listed = ", ".join(f"{m.index}: {m.name} {m.width}x{m.height}" for m in monitors)
    return monitors[0], f"{missing} (connected: {listed})"


def _context_hints(glfw, visible: bool) -> None:
    glfw.default_window_hints()
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, GL_VERSION[0])
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, GL_VERSION[1])
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
    glfw.window_hint(glfw.VISIBLE, visible)


class GlfwHost:
    """GLFW plus the hidden window that owns the engine's GL context. Main (render) thread.

    Raises WindowError from the constructor when there is no display, GLFW cannot start or the
    driver has no OpenGL 3.3 core.
    """

    def __init__(self) -> None:
        glfw = _glfw()
        self._glfw = glfw
        if not display_available():
            raise WindowError("no display: neither DISPLAY nor WAYLAND_DISPLAY is set")
        if not glfw.init():
            raise WindowError(f"GLFW cannot start: {_last_error(glfw)}")
        _release_current_egl_context()
        self.windows: list[WindowOutput] = []
        _context_hints(glfw, visible=False)
        self._handle = glfw.create_window(16, 16, "echoel engine", None, None)
        if not self._handle:
            reason = _last_error(glfw)
            glfw.terminate()
            raise WindowError(f"cannot create an OpenGL {GL_VERSION[0]}.{GL_VERSION[1]} core context: {reason}")
        glfw.make_context_current(self._handle)
        self.ctx = moderngl.create_context(require=330)
        _ = self.ctx.error  # context creation may leave a flag; start clean
        self._monitor_events: list[tuple[str, str]] = []
        glfw.set_monitor_callback(self._on_monitor)

    def _on_monitor(self, monitor, event) -> None:
        # Main thread, inside poll_events: only record it; the show reacts between frames.
        name = _decode(self._glfw.get_monitor_name(monitor)) if monitor else "?"
        kind = "connected" if event == self._glfw.CONNECTED else "disconnected"
        self._monitor_events.append((kind, name))

    def take_monitor_events(self) -> list[tuple[str, str]]:
        """Monitor changes since the last call: ("connected" | "disconnected", monitor name)."""
        events, self._monitor_events = self._monitor_events, []
        return events

    def monitors(self) -> list[MonitorInfo]:
        """Connected monitors, primary first."""
        return list_monitors()

    def make_current(self) -> None:
        """Make the engine context current (before the engine renders)."""
        self._glfw.make_context_current(self._handle)

    def open_window(self, spec: OutputSpec, on_key: Callable[[KeyEvent], None] | None = None,
                    title: str | None = None) -> WindowOutput:
        """Open an output window sharing the engine context. Raises WindowError when it cannot.

        A monitor that is not connected is not an error: the window opens windowed on the
        primary monitor and `WindowOutput.note` says so.
        """
        window = WindowOutput(self, spec, on_key, title)
        self.windows.append(window)
        self.make_current()
        return window

    def poll_events(self) -> None:
        """Process window events; key callbacks run here (main thread)."""
        self._glfw.poll_events()

    def close(self) -> None:
        """Close every window and stop GLFW."""
        for window in list(self.windows):
            window.close()
        self.make_current()
        self.ctx.release()
        self._glfw.destroy_window(self._handle)
        self._glfw.terminate()


def _release_current_egl_context() -> None:
    """Un-bind an EGL context left current on this thread (e.g. by a headless check).

    libglvnd allows one current context per thread across APIs: with an EGL context current,
    GLFW's glXMakeCurrent fails with BadAccess and Xlib ends the process. moderngl's release()
    of a standalone EGL context does not un-bind it, so do it here. Main thread.
    """
    import ctypes
    import ctypes.util

    try:
        egl = ctypes.CDLL(ctypes.util.find_library("EGL") or "libEGL.so.1")
    except OSError:
        return  # no EGL library: nothing can be current
    egl.eglGetCurrentContext.restype = ctypes.c_void_p
    egl.eglGetCurrentDisplay.restype = ctypes.c_void_p
    egl.eglMakeCurrent.argtypes = [ctypes.c_void_p] * 4
    if egl.eglGetCurrentContext():
        egl.eglMakeCurrent(egl.eglGetCurrentDisplay(), None, None, None)


def _last_error(glfw) -> str:
    code, text = glfw.get_error()
    return (_decode(text) or f"GLFW error {code}") if code else "unknown reason"


class WindowOutput:
    """One visible window showing the engine's picture through its `OutputTransform`.

    Created by `GlfwHost.open_window`. Main (render) thread only. `note` holds a fallback that
    happened while opening (monitor missing, fullscreen refused), empty otherwise.
    """

    def __init__(self, host: GlfwHost, spec: OutputSpec, on_key: Callable[[KeyEvent], None] | None,
                 title: str | None) -> None:
        glfw = host._glfw
        self._glfw, self.host, self.spec, self._on_key = glfw, host, spec, on_key
        self.note = ""
        self.closed = False
        self.close_requested = False
        monitor, self.note = pick_monitor(spec.monitor, list_monitors()) if spec.fullscreen else (None, "")
        if self.note:
            # The chosen projector is missing: a window on the primary monitor, never fullscreen
            # over what is probably the operator's own screen.
            monitor = None
            self.note += "; opened windowed on the primary monitor instead"
        _context_hints(glfw, visible=True)
        handle = None
        title = title or f"echoel {spec.name}"
        if spec.fullscreen and monitor is not None:
            mon = glfw.get_monitors()[monitor.index]
            glfw.window_hint(glfw.REFRESH_RATE, monitor.refresh_hz or glfw.DONT_CARE)
            # The projector must stay up when the operator clicks into the monitor window.
            glfw.window_hint(glfw.AUTO_ICONIFY, False)
            handle = glfw.create_window(monitor.width, monitor.height, title, mon, host._handle)
            if not handle:
                self.note = (self.note + "; " if self.note else "") + (
                    f"fullscreen on {monitor.name} failed ({_last_error(glfw)}); windowed instead")
                _context_hints(glfw, visible=True)
        if not handle:
            handle = glfw.create_window(spec.size[0], spec.size[1], title, None, host._handle)
        if not handle:
            raise WindowError(f"cannot open the {spec.name} window: {_last_error(glfw)}")
        self._handle = handle
        glfw.make_context_current(handle)
        try:
            self.ctx = moderngl.create_context(require=330)
            _ = self.ctx.error
            glfw.swap_interval(1 if spec.vsync else 0)
            self._pass = TransformPass(self.ctx)
        except Exception as exc:
            glfw.destroy_window(handle)
            raise WindowError(f"cannot set up GL in the {spec.name} window: {exc}") from exc
        self._shared: dict[int, moderngl.Texture] = {}
        glfw.set_key_callback(handle, self._key_callback)
        glfw.set_window_close_callback(handle, self._close_callback)
        if self.note:
            log.warning("output %s: %s", spec.name, self.note)

    # -- callbacks (main thread, inside poll_events): record and hand over, nothing more ----------
    def _key_callback(self, _win, key, _scancode, action, mods) -> None:
        if action == self._glfw.PRESS and self._on_key is not None:
            self._on_key(KeyEvent(key_name(key, mods), self.spec.name))

    def _close_callback(self, _win) -> None:
        # Closing the window (window manager, Alt+F4) must not end a show on its own: the show
        # treats it as a quit request that needs confirming, so keep the window open.
        self._glfw.set_window_should_close(self._handle, False)
        self.close_requested = True
        if self._on_key is not None:
            self._on_key(KeyEvent("window_close", self.spec.name))

    # -- drawing ------------------------------------------------------------------------------
    @property
    def framebuffer_size(self) -> tuple[int, int]:
        """The window's framebuffer size in pixels (differs from its size on HiDPI screens)."""
        w, h = self._glfw.get_framebuffer_size(self._handle)
        return int(w), int(h)

    def shared_texture(self, texture: moderngl.Texture) -> moderngl.Texture:
        """`texture` (an engine-context texture) as an object of this window's context."""
        tex = self._shared.get(texture.glo)
        if tex is None or tex.size != texture.size:
            tex = self.ctx.external_texture(texture.glo, texture.size, texture.components, 0, texture.dtype)
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._shared[texture.glo] = tex
        return tex

    def begin(self) -> moderngl.Framebuffer:
        """Make this window's context current and return its framebuffer, cleared to black."""
        self._glfw.make_context_current(self._handle)
        screen = self.ctx.screen
        screen.use()
        screen.viewport = (0, 0, *self.framebuffer_size)
        screen.clear(0.0, 0.0, 0.0, 1.0)
        return screen

    def draw_picture(self, picture: moderngl.Texture, viewport: tuple[int, int, int, int] | None = None,
                     transform: OutputTransform | None = None) -> None:
        """Draw an engine-context texture into this window (after `begin`)."""
        screen = self.ctx.screen
        self._pass.draw(self.shared_texture(picture), screen, transform or self.spec.transform,
                        picture.size, viewport)

    def draw(self, picture: moderngl.Texture) -> None:
        """Draw `picture` full-window through this output's transform (no swap)."""
        self.begin()
        self.draw_picture(picture)

    def present(self, picture: moderngl.Texture) -> None:
        """Show `picture` full-window through this output's transform and swap buffers."""
        self.draw(picture)
        self.swap()

    def swap(self) -> None:
        """Swap buffers (waits for the vertical blank when vsync is on)."""
        self._glfw.swap_buffers(self._handle)

    def read_rgba(self):
        """The back buffer as uint8 (height, width, 4), top row first (tests; before `swap`)."""
        import numpy as np

        self._glfw.make_context_current(self._handle)
        w, h = self.framebuffer_size
        data = self.ctx.screen.read(viewport=(0, 0, w, h), components=4, alignment=1)
        # moderngl selects colour attachment 0 as the read buffer, which the default framebuffer
        # does not have: Mesa flags GL_INVALID_OPERATION yet reads the back buffer. Clear the flag.
        _ = self.ctx.error
        return np.frombuffer(data, np.uint8).reshape(h, w, 4)[::-1]

    def go_windowed(self, reason: str) -> None:
        """Leave fullscreen for a window on the primary monitor (its monitor is gone)."""
        w, h = self.spec.size
        self._glfw.set_window_monitor(self._handle, None, 64, 64, w, h, 0)
        self.note = reason
        log.warning("output %s: %s", self.spec.name, reason)

    @property
    def monitor_name(self) -> str | None:
        """Name of the monitor this window is fullscreen on, None when windowed."""
        mon = self._glfw.get_window_monitor(self._handle)
        return _decode(self._glfw.get_monitor_name(mon)) if mon else None

    def close(self) -> None:
        """Destroy the window and its context (the engine context is untouched)."""
        if self.closed:
            return
        self._glfw.make_context_current(self._handle)
        for tex in self._shared.values():
            tex.release()
        self._pass.release()
        self.ctx.release()
        self._glfw.make_context_current(None)
        self._glfw.destroy_window(self._handle)
        self.closed = True
        if self in self.host.windows:
            self.host.windows.remove(self)
        self.host.make_current()
