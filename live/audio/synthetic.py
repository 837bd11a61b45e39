"""Synthetic test signals with known answers: click trains, kick-and-hat loops, tones.

Used by tests and benchmarks (and handy for rehearsing without music). Pure numpy, deterministic.
"""

from __future__ import annotations

import numpy as np

SR = 48000


def click_train(bpm: float, seconds: float, sr: int = SR, offset: float = 0.0,
                click_ms: float = 2.0, amplitude: float = 0.8) -> np.ndarray:
    """Mono float32 clicks (short decaying noise bursts) every beat starting at `offset` s."""
    n = int(round(seconds * sr))
    out = np.zeros(n, np.float32)
    rng = np.random.default_rng(1)
    length = max(1, int(click_ms * 1e-3 * sr))
    burst = (rng.uniform(-1, 1, length) * np.exp(-np.arange(length) / (length / 4))).astype(np.float32)
    t = offset
    while t < seconds:
        i = int(round(t * sr))
        seg = out[i:i + length]
        seg += amplitude * burst[: len(seg)]
        t += 60.0 / bpm
    return out


def kick_hat_loop(bpm: float, seconds: float, sr: int = SR) -> np.ndarray:
    """Mono float32: a kick on every beat, a hat on every off-beat, a soft bass tone under it."""
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    out = 0.15 * np.sin(2 * np.pi * 55.0 * t)
    beat = 60.0 / bpm
    k = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-k * 30)) * k) * np.exp(-k * 12)
    rng = np.random.default_rng(2)
    h = np.arange(int(0.05 * sr)) / sr
    hat = rng.uniform(-1, 1, len(h)) * np.exp(-h * 80)
    hat = np.diff(hat, prepend=0.0)  # crude high-pass: hats live in the treble
    pos = 0.0
    while pos < seconds:
        for start, sound, gain in ((pos, kick, 0.8), (pos + beat / 2, hat, 0.3)):
            i = int(round(start * sr))
            seg = out[i:i + len(sound)]
            seg += gain * sound[: len(seg)]
        pos += beat
    return np.clip(out, -1, 1).astype(np.float32)
