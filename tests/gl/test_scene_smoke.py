"""Every bundled scene renders headless: no GL error, not blank, moving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live.audio.synthetic import kick_hat_loop
from live.render.offline import OfflineSession
from live.scene import list_scenes, load_scene

pytestmark = pytest.mark.gl

SCENES = [path for _, path, _ in list_scenes([Path(__file__).resolve().parents[2] / "scenes"])]


def test_there_are_enough_bundled_scenes():
    # Numbered regression scenes 000-009 plus at least six show scenes.
    shows = [p for p in SCENES if not p.name[:3].isdigit() or int(p.name[:3]) >= 10]
    assert (Path(__file__).resolve().parents[2] / "scenes" / "000-idle.toml") in SCENES
    assert len(shows) >= 6, [p.name for p in SCENES]


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_scene_renders_not_blank_and_moving(gl_ctx, path):
    scene = load_scene(path)
    audio = kick_hat_loop(scene.bpm, 3.0)[:, None]
    frames = []
    with OfflineSession(scene, audio, fps=15, size=(96, 54)) as session:
        for i in range(30):
            rgba = session.step()
            if i in (10, 20, 29):
                frames.append(rgba[..., :3].astype(np.int16))
    for f in frames:
        # Not blank: not all black, and not one flat colour.
        assert f.max() > 20, f"{path.name}: frame is (nearly) black"
        assert f.reshape(-1, 3).std(axis=0).max() > 2.0, f"{path.name}: frame is one flat colour"
    changes = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
    assert max(changes) > 0.5, f"{path.name}: picture does not move (mean change {changes})"
