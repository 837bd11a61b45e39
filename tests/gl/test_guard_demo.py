"""The flash guard leaves the demo scene untouched: guard on and off give the same pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live.audio.synthetic import kick_hat_loop
from live.render.offline import OfflineSession
from live.render.safety import FlashGuard
from live.scene import find_scene, load_scene

pytestmark = pytest.mark.gl

SIZE = (128, 72)


def _render(guard: bool, frames: int = 60) -> list[np.ndarray]:
    scene = load_scene(find_scene("demo", [Path(__file__).resolve().parents[2] / "scenes"]))
    audio = kick_hat_loop(scene.bpm, frames / 30 + 0.5)[:, None]
    out = []
    with OfflineSession(scene, audio, fps=30, size=SIZE) as session:
        if guard:
            session.engine.output_filters = [FlashGuard(session.ctx, SIZE, fps_hint=30)]
        for _ in range(frames):
            out.append(session.step()[..., :3].astype(np.int16))
        for flt in session.engine.output_filters:
            flt.release()
    return out


def test_demo_scene_is_identical_with_the_guard_on_and_off(gl_ctx):
    plain, guarded = _render(False), _render(True)
    worst = max(int(np.abs(a - b).max()) for a, b in zip(plain, guarded))
    assert worst <= 1, f"the guard changed the demo scene by up to {worst}/255"
    assert max(int(np.abs(a - b).max()) for a, b in zip(plain, plain[1:])) > 10  # it is moving
