"""Golden images of every bundled scene at fixed clock times.

The references are 128x72 PNGs in tests/golden/scenes/. Tolerances allow for other Mesa or GPU
versions (see imagecmp.Tolerance); ECHOEL_REGEN_GOLDEN=1 rewrites them (look before committing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagecmp import assert_image_matches
from live.audio.synthetic import kick_hat_loop
from live.render.offline import OfflineSession
from live.scene import list_scenes, load_scene

pytestmark = [pytest.mark.gl, pytest.mark.golden]

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = Path(__file__).resolve().parent / "scenes"
SCENES = [path for _, path, _ in list_scenes([ROOT / "scenes"])]
FPS = 15
#: Frames at which the picture is compared (1.33 s and 2.33 s: between beats of the 120 bpm
#: test loop, so a beat-triggered flash a few ms earlier or later cannot flip the picture).
CHECK_FRAMES = (20, 35)


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_scene_matches_golden_images(gl_ctx, path):
    scene = load_scene(path)
    audio = kick_hat_loop(120.0, 3.0)[:, None]
    with OfflineSession(scene, audio, fps=FPS, size=(128, 72)) as session:
        for i in range(max(CHECK_FRAMES) + 1):
            rgba = session.step()
            if i in CHECK_FRAMES:
                assert_image_matches(rgba[..., :3], REFERENCES / f"{path.stem}_f{i:03d}.png")
