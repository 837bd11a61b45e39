"""Shared pytest fixtures.

GL fixtures follow moderngl's own test suite: one headless context for the whole session
(creating contexts is slow and drivers leak them), and a per-test `ctx` that fails the test if
it leaves a GL error flag behind.
"""

from __future__ import annotations

import moderngl
import pytest

from live.render.context import GLUnavailableError, create_headless_context


@pytest.fixture(scope="session")
def gl_ctx() -> moderngl.Context:
    """The session's headless OpenGL context (EGL; Mesa llvmpipe is enough).

    Skips the test when no context can be created, giving the reason.
    """
    try:
        ctx = create_headless_context()
    except GLUnavailableError as exc:
        pytest.skip(f"no OpenGL: EGL context unavailable ({exc})")
    yield ctx
    ctx.release()


@pytest.fixture
def ctx(gl_ctx: moderngl.Context) -> moderngl.Context:
    """`gl_ctx` for one test: no GL error before, none after, default state restored."""
    assert gl_ctx.error == "GL_NO_ERROR", "a GL error was left by an earlier test"
    gl_ctx.enable_only(moderngl.NOTHING)
    yield gl_ctx
    error = gl_ctx.error
    gl_ctx.enable_only(moderngl.NOTHING)
    assert error == "GL_NO_ERROR", f"the test left GL error {error}"
