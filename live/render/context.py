"""The one place that creates OpenGL contexts.

Headless rendering uses EGL (Mesa llvmpipe works with no GPU and no display); windows come later
from GLFW. Everything in this module runs on the render thread: only that thread touches GL.
"""

from __future__ import annotations

import moderngl

#: OpenGL version every shader targets (GLSL 330 core).
REQUIRED_GL = 330


class GLUnavailableError(RuntimeError):
    """No OpenGL context could be created (no EGL driver, no display)."""


class GLError(RuntimeError):
    """An OpenGL error flag was raised; the message names the operation that raised it."""


def create_headless_context() -> moderngl.Context:
    """Create a standalone OpenGL 3.3+ core context through EGL.

    Runs on the render thread. Raises GLUnavailableError with the reason and the Debian packages
    that provide EGL when no context can be made.
    """
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=REQUIRED_GL)
    except Exception as exc:  # moderngl raises plain Exception subclasses from glcontext
        raise GLUnavailableError(
            f"cannot create a headless OpenGL context through EGL: {exc}. "
            "On Debian install: libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri"
        ) from exc
    # Clear any error left by context creation so the first check reports our own calls.
    _ = ctx.error
    return ctx


def renderer_name(ctx: moderngl.Context) -> str:
    """Human-readable GL renderer string, e.g. 'llvmpipe (LLVM 15.0.6, 256 bits)'."""
    return str(ctx.info.get("GL_RENDERER", "unknown"))


def check_gl_error(ctx: moderngl.Context, where: str) -> None:
    """Raise GLError if the context has an error flag set; `where` names the operation."""
    err = ctx.error
    if err != "GL_NO_ERROR":
        raise GLError(f"OpenGL error {err} after {where}")


def release_framebuffers(ctx: moderngl.Context, *objects) -> None:
    """Release framebuffers and textures safely.

    Deleting the framebuffer that is bound leaves moderngl rebinding a dead object on the next
    framebuffer operation (GL_INVALID_OPERATION), so bind framebuffer 0 first when needed.
    """
    bound = ctx.fbo
    if bound is not None and any(obj is bound for obj in objects):
        ctx.detect_framebuffer(0).use()
    for obj in objects:
        obj.release()
