"""Tiny random Wan pipelines of every layout, saved and loaded back through the real loading code."""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (extra 'gen')")

from live.gen.errors import GenerationCancelled, ModelLoadError, RequestError  # noqa: E402
from live.gen.layouts import LAYOUT_NAMES  # noqa: E402
from live.gen.pipelines.wan import load_generator  # noqa: E402
from live.gen.request import GenerationRequest  # noqa: E402
from live.gen.settings import PipelineSettings  # noqa: E402
from live.gen.tiny import build_tiny_pipeline  # noqa: E402

IMAGE = (np.arange(32 * 32 * 3, dtype=np.uint32).reshape(32, 32, 3) * 7 % 256).astype(np.uint8)
SIZE = {"wan2.2-ti2v-5b": 32}


def request_for(layout: str, **fields) -> GenerationRequest:
    needs_image = layout in ("wan2.1-i2v", "wan2.2-i2v-a14b")
    base = dict(prompt="neon city at night", negative_prompt="blurry", seed=3, frames=9, width=32, height=32,
                steps=4, init_image=IMAGE if needs_image else None)
    return GenerationRequest(**{**base, **fields})


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_saved_pipeline_loads_and_fixed_seed_gives_fixed_output(generator_for, layout):
    generator = generator_for(layout)
    assert generator.layout.name == layout
    first = generator.generate(request_for(layout))
    again = generator.generate(request_for(layout))
    other_seed = generator.generate(request_for(layout, seed=4))
    assert first.frames.shape == (9, 32, 32, 3)
    assert first.frames.dtype == np.float32 and 0.0 <= first.frames.min() and first.frames.max() <= 1.0
    np.testing.assert_array_equal(first.frames, again.frames)
    assert np.abs(first.frames - other_seed.frames).max() > 1e-3
    assert first.fps == (24 if layout == "wan2.2-ti2v-5b" else 16)


@pytest.mark.parametrize("layout", ["wan2.1-t2v", "wan2.2-i2v-a14b"])
def test_loaded_output_equals_the_in_memory_pipeline(generator_for, layout):
    """save_pretrained + from_pretrained (offline) reproduces the built pipeline exactly."""
    loaded = generator_for(layout)
    request = request_for(layout)
    built = build_tiny_pipeline(layout, seed=0)
    built.set_progress_bar_config(disable=True)
    kwargs = dict(prompt=request.prompt, negative_prompt=request.negative_prompt, height=32, width=32, num_frames=9,
                  num_inference_steps=4, guidance_scale=loaded.layout.default_guidance,
                  generator=torch.Generator("cpu").manual_seed(3), output_type="np", max_sequence_length=512)
    if loaded.layout.two_experts:
        kwargs["guidance_scale_2"] = loaded.layout.default_guidance_2
    if request.init_image is not None:
        from PIL import Image

        kwargs["image"] = Image.fromarray(IMAGE)
    expected = built(**kwargs).frames[0]
    # Encoding prompt and negative prompt in one batch (the pipeline) or two (the generator) rounds
    # differently in float32: agreement to 1e-5 of a 0..1 range.
    np.testing.assert_allclose(loaded.generate(request).frames, expected, atol=1e-5)


@pytest.mark.parametrize("layout", ["wan2.2-t2v-a14b", "wan2.2-i2v-a14b"])
def test_a14b_splits_steps_between_experts_at_the_boundary(generator_for, layout):
    generator = generator_for(layout)
    calls = {"transformer": [], "transformer_2": []}
    handles = [module.register_forward_pre_hook(lambda m, a, kw, n=name: calls[n].append(float(kw["timestep"][0])),
                                                with_kwargs=True)
               for name, module in generator.experts.items()]
    try:
        result = generator.generate(request_for(layout, steps=8, guidance=4.0, guidance_2=2.0))
    finally:
        for handle in handles:
            handle.remove()
    boundary = generator.layout.boundary_ratio * 1000
    assert calls["transformer"] and calls["transformer_2"]
    assert min(calls["transformer"]) >= boundary > max(calls["transformer_2"])
    assert result.transformer_calls == 16 and (result.guidance, result.guidance_2) == (4.0, 2.0)


def test_ti2v_takes_text_or_an_image_and_needs_multiples_of_32(generator_for):
    generator = generator_for("wan2.2-ti2v-5b")
    with_image = generator.generate(request_for("wan2.2-ti2v-5b", init_image=IMAGE))
    text_only = generator.generate(request_for("wan2.2-ti2v-5b"))
    assert with_image.frames.shape == text_only.frames.shape == (9, 32, 32, 3)
    assert np.abs(with_image.frames - text_only.frames).max() > 1e-3
    with pytest.raises(RequestError, match="multiple of 32"):
        generator.generate(request_for("wan2.2-ti2v-5b", width=48))


def test_layout_rules_are_enforced_before_anything_runs(generator_for):
    with pytest.raises(RequestError, match="needs an init image"):
        generator_for("wan2.1-i2v").generate(request_for("wan2.1-i2v", init_image=None))
    with pytest.raises(RequestError, match="takes no init image"):
        generator_for("wan2.1-t2v").generate(request_for("wan2.1-t2v", init_image=IMAGE))


def test_prompt_over_the_token_limit_is_an_error_not_a_cut(generator_for):
    generator = generator_for("wan2.1-t2v")
    with pytest.raises(RequestError, match=r"is \d+ tokens; the text encoder reads at most 16"):
        generator.generate(request_for("wan2.1-t2v", prompt="a very long prompt about neon", max_sequence_length=16))


def test_progress_is_reported_every_step(generator_for):
    seen = []
    generator_for("wan2.1-t2v").generate(request_for("wan2.1-t2v", steps=5), on_step=seen.append)
    assert [p.step for p in seen] == [1, 2, 3, 4, 5] and all(p.total == 5 for p in seen)
    assert all(b.elapsed_s >= a.elapsed_s for a, b in zip(seen, seen[1:]))


def test_cancellation_stops_within_one_step(generator_for):
    generator = generator_for("wan2.1-t2v")
    cancel = threading.Event()
    calls = []
    handle = generator.pipe.transformer.register_forward_pre_hook(lambda m, a: calls.append(1))

    def on_step(progress):
        if progress.step == 2:
            cancel.set()  # e.g. the prompt changed while step 2 ran

    try:
        with pytest.raises(GenerationCancelled) as stopped:
            generator.generate(request_for("wan2.1-t2v", steps=6), on_step=on_step, cancel=cancel)
    finally:
        handle.remove()
    assert (stopped.value.step, stopped.value.total) == (2, 6)
    assert len(calls) == 2 * 2  # two steps, cond and uncond each, nothing after
    # The generator stays usable and unaffected by the abandoned run.
    np.testing.assert_array_equal(generator.generate(request_for("wan2.1-t2v")).frames,
                                  generator.generate(request_for("wan2.1-t2v")).frames)


def test_cancel_set_before_start_runs_nothing(generator_for):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled, match="after step 0 of 4"):
        generator_for("wan2.1-t2v").generate(request_for("wan2.1-t2v"), cancel=cancel)


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model directory"):
        load_generator(tmp_path / "nope", PipelineSettings(device="cpu"))
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE is set"):
        load_generator("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", PipelineSettings(device="cpu"))


def test_a_loaded_pipeline_stays_warm(tiny_model_dir):
    from live.gen.pipelines.wan import release_generators, warm_generator

    settings = PipelineSettings(device="cpu")
    try:
        first = warm_generator(tiny_model_dir("wan2.1-t2v"), settings)
        assert warm_generator(tiny_model_dir("wan2.1-t2v"), settings) is first
    finally:
        release_generators()
