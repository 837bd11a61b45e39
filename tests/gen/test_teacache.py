"""TeaCache on the diffusers Wan transformer: exactness at threshold 0, the reference skip pattern."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (extra 'gen')")

from live.gen.errors import CalibrationError  # noqa: E402
from live.gen.request import GenerationRequest  # noqa: E402
from live.gen.teacache import (  # noqa: E402
    PUBLISHED_CHECKPOINTS,
    PUBLISHED_COEFFICIENTS,
    TeaCacheConfig,
    apply_teacache,
    remove_teacache,
    teacache_stats,
)

STEPS = 12


def request(**fields) -> GenerationRequest:
    return GenerationRequest(**{"prompt": "neon city at night", "negative_prompt": "blurry", "seed": 5, "frames": 9,
                                "width": 32, "height": 32, "steps": STEPS, **fields})


def reference_pattern(rel_l1: list[float | None], threshold: float, coefficients=None, warmup=1, last=True) -> list[bool]:
    """The reference algorithm (TeaCache4Wan2.1), written out for one pass: True = compute."""
    pattern, acc = [], 0.0
    for step, rel in enumerate(rel_l1):
        if step < warmup or (last and step == len(rel_l1) - 1):
            pattern.append(True)
            acc = 0.0
            continue
        acc += np.polyval(coefficients, rel) if coefficients is not None else rel
        if acc < threshold:
            pattern.append(False)
        else:
            pattern.append(True)
            acc = 0.0
    return pattern


@pytest.fixture
def t2v(generator_for):
    generator = generator_for("wan2.1-t2v")
    yield generator
    generator.set_teacache(None)


@pytest.mark.parametrize("layout", ["wan2.1-t2v", "wan2.2-t2v-a14b", "wan2.2-ti2v-5b"])
def test_threshold_zero_reproduces_the_uncached_output_exactly(generator_for, layout):
    generator = generator_for(layout)
    try:
        plain = generator.generate(request())
        generator.set_teacache(TeaCacheConfig(threshold=0.0))
        cached = generator.generate(request())
    finally:
        generator.set_teacache(None)
    np.testing.assert_array_equal(plain.frames, cached.frames)
    assert cached.computed_calls == cached.transformer_calls == 2 * STEPS
    assert set(cached.teacache) == set(generator.experts)


def test_skip_pattern_follows_the_threshold_as_the_reference_predicts(t2v):
    # The modulated input depends only on the timestep, so a threshold-0 run records the change
    # sequence that every threshold sees; the reference loop then predicts each skip pattern.
    t2v.set_teacache(TeaCacheConfig(threshold=0.0))
    t2v.generate(request())
    records = teacache_stats(t2v.pipe.transformer).run()
    rel = {ctx: [r.rel_l1 for r in records if r.context == ctx] for ctx in ("cond", "uncond")}
    assert rel["cond"] == rel["uncond"] and len(rel["cond"]) == STEPS and rel["cond"][0] is None

    skipped_counts = []
    for threshold in (0.3, 0.6, 1.0, 2.0):
        t2v.set_teacache(TeaCacheConfig(threshold=threshold))
        result = t2v.generate(request())
        run = teacache_stats(t2v.pipe.transformer).run()
        for ctx in ("cond", "uncond"):
            actual = [r.computed for r in run if r.context == ctx]
            assert actual == reference_pattern(rel[ctx], threshold), (threshold, ctx)
        skipped = sum(not r.computed for r in run)
        assert result.computed_calls == 2 * STEPS - skipped
        skipped_counts.append(skipped)
    assert skipped_counts == sorted(skipped_counts) and skipped_counts[-1] > 0
    assert all(records[i].computed for i in (0, 1, -2, -1))  # first and last steps, both passes


def test_cached_run_differs_and_the_cache_can_be_removed(t2v):
    plain = t2v.generate(request())
    t2v.set_teacache(TeaCacheConfig(threshold=2.0))
    cached = t2v.generate(request())
    assert cached.computed_calls < cached.transformer_calls
    assert np.abs(cached.frames - plain.frames).max() > 0
    t2v.set_teacache(None)
    np.testing.assert_array_equal(t2v.generate(request()).frames, plain.frames)


def test_retention_mode_computes_the_first_five_steps_and_may_skip_the_last(t2v):
    t2v.set_teacache(TeaCacheConfig.for_mode(None, retention=True, threshold=50.0))
    t2v.generate(request())
    cond = [r for r in teacache_stats(t2v.pipe.transformer).run() if r.context == "cond"]
    assert [r.computed for r in cond[:5]] == [True] * 5 and all(r.forced for r in cond[:5])
    assert not cond[-1].computed  # no forced last step in retention mode


def test_max_consecutive_skips_caps_a_run_of_skips(t2v):
    t2v.set_teacache(TeaCacheConfig(threshold=50.0, max_consecutive_skips=2))
    t2v.generate(request())
    cond = [r.computed for r in teacache_stats(t2v.pipe.transformer).run() if r.context == "cond"]
    longest, current = 0, 0
    for computed in cond:
        current = 0 if computed else current + 1
        longest = max(longest, current)
    assert longest == 2


def test_a14b_experts_get_separate_caches(generator_for):
    generator = generator_for("wan2.2-t2v-a14b")
    try:
        generator.set_teacache({"transformer": TeaCacheConfig(threshold=0.0),
                                "transformer_2": TeaCacheConfig(threshold=50.0)})
        result = generator.generate(request())
        low_noise = teacache_stats(generator.pipe.transformer_2).run()
    finally:
        generator.set_teacache(None)
    assert result.teacache["transformer"]["skipped"] == 0
    assert result.teacache["transformer_2"]["skipped"] > 0
    assert low_noise[0].step > 0 and low_noise[0].computed and low_noise[0].forced  # its first call has no cache


def test_every_published_wan21_set_is_present():
    assert PUBLISHED_CHECKPOINTS == ("wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p", "wan2.1-t2v-1.3b", "wan2.1-t2v-14b")
    assert len(PUBLISHED_COEFFICIENTS) == 8 and all(len(c) == 5 for c in PUBLISHED_COEFFICIENTS.values())
    plain = TeaCacheConfig.published("wan2.1-t2v-1.3b")
    assert (plain.modulated_input, plain.warmup_steps, plain.compute_last_step) == ("temb", 1, True)
    assert plain.coefficients[0] == pytest.approx(2.39676752e03)
    retention = TeaCacheConfig.published("wan2.1-i2v-14b-720p", retention=True, threshold=0.2)
    assert (retention.modulated_input, retention.warmup_steps, retention.compute_last_step) == ("timestep_proj", 5, False)
    with pytest.raises(CalibrationError, match="no published TeaCache coefficients for 'wan2.2-t2v-a14b'"):
        TeaCacheConfig.published("wan2.2-t2v-a14b")


def test_config_validation():
    with pytest.raises(ValueError, match="threshold -1"):
        TeaCacheConfig(threshold=-1)
    with pytest.raises(ValueError, match="modulated_input 'x'; allowed: temb, timestep_proj"):
        TeaCacheConfig(modulated_input="x")
    with pytest.raises(ValueError, match="warmup_steps 0"):
        TeaCacheConfig(warmup_steps=0)


def test_refuses_a_transformer_with_a_diffusers_cache(t2v):
    from diffusers import FirstBlockCacheConfig

    transformer = t2v.pipe.transformer
    transformer.enable_cache(FirstBlockCacheConfig(threshold=0.05))
    try:
        with pytest.raises(ValueError, match="disable_cache"):
            apply_teacache(transformer, TeaCacheConfig())
    finally:
        transformer.disable_cache()
    remove_teacache(transformer)  # removing when nothing is installed is harmless
