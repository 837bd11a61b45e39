"""Offline renders lock the engine's beat clock to the music, not to the scene's tempo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live.audio.synthetic import kick_hat_loop
from live.render.offline import OfflineSession
from live.scene import parse_scene

pytestmark = pytest.mark.gl

SCENE = parse_scene('schema = 1\n[scene]\nname = "t"\nbpm = 120\n[[layers]]\nid = "a"\nkind = "shader"\n'
                    'source = "generators/gradient"\n', Path("t.toml"))


def test_the_tracker_takes_over_the_beat_clock_from_the_scene_tempo(gl_ctx):
    audio = kick_hat_loop(100.0, 12.0)[:, None]
    fired = []
    with OfflineSession(SCENE, audio, fps=30, size=(32, 18)) as session:
        for i in range(12 * 30):
            session.step()
            if session.engine.beat.beat_fired:
                fired.append(i / 30)
        beat = session.engine.beat
        assert beat.source == "audio"
        assert abs(beat.bpm - 100.0) < 2.0
    # Once locked, beats fire on the kicks (every 0.6 s), within a frame.
    late = np.array([t for t in fired if t > 6.0])
    offsets = (late / 0.6) - np.round(late / 0.6)
    assert len(late) >= 8 and np.abs(offsets * 0.6).max() <= 1 / 30 + 0.01
