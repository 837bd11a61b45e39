"""Request validation and layout detection: pure Python, no torch."""

from __future__ import annotations

import json

import pytest

from live.gen.errors import ModelLoadError, RequestError
from live.gen.layouts import detect_layout
from live.gen.request import GenerationRequest, parse_size, validate_request
from live.gen.settings import DEVICE_LIMITS, PipelineSettings


def _write_model(root, cls="WanPipeline", transformer_2=False, boundary=None, expand=False, image_encoder=False,
                 vae_spatial=8, heads=12, head_dim=128):
    root.mkdir(parents=True)
    index = {"_class_name": cls, "transformer": ["diffusers", "WanTransformer3DModel"],
             "transformer_2": ["diffusers", "WanTransformer3DModel"] if transformer_2 else [None, None],
             "vae": ["diffusers", "AutoencoderKLWan"], "boundary_ratio": boundary, "expand_timesteps": expand}
    if image_encoder:
        index["image_encoder"] = ["transformers", "CLIPVisionModel"]
    (root / "model_index.json").write_text(json.dumps(index))
    for sub, conf in (("transformer", {"patch_size": [1, 2, 2], "num_attention_heads": heads,
                                       "attention_head_dim": head_dim, "num_layers": 30}),
                      ("vae", {"scale_factor_spatial": vae_spatial, "scale_factor_temporal": 4})):
        (root / sub).mkdir()
        (root / sub / "config.json").write_text(json.dumps(conf))
    return root


@pytest.mark.parametrize("kwargs, name, multiple, fps, checkpoint", [
    (dict(), "wan2.1-t2v", 16, 16, "wan2.1-t2v-1.3b"),
    (dict(heads=40), "wan2.1-t2v", 16, 16, "wan2.1-t2v-14b"),
    (dict(cls="WanImageToVideoPipeline", image_encoder=True, heads=40), "wan2.1-i2v", 16, 16, "wan2.1-i2v-14b-480p"),
    (dict(transformer_2=True, boundary=0.875, heads=40), "wan2.2-t2v-a14b", 16, 16, None),
    (dict(cls="WanImageToVideoPipeline", transformer_2=True, boundary=0.9, heads=40), "wan2.2-i2v-a14b", 16, 16, None),
    (dict(expand=True, vae_spatial=16, heads=24), "wan2.2-ti2v-5b", 32, 24, None),
])
def test_layouts_are_recognised_from_config_files(tmp_path, kwargs, name, multiple, fps, checkpoint):
    layout = detect_layout(_write_model(tmp_path / "m", **kwargs))
    assert (layout.name, layout.spatial_multiple, layout.fps) == (name, multiple, fps)
    assert layout.published_teacache_checkpoint == checkpoint


def test_unknown_or_broken_model_directories_are_named_in_the_error(tmp_path):
    with pytest.raises(ModelLoadError, match="model_index.json: missing"):
        detect_layout(tmp_path)
    _write_model(tmp_path / "sd", cls="StableDiffusionPipeline")
    with pytest.raises(ModelLoadError, match=r"_class_name is 'StableDiffusionPipeline'; supported: WanPipeline"):
        detect_layout(tmp_path / "sd")
    _write_model(tmp_path / "a14b", transformer_2=True)
    with pytest.raises(ModelLoadError, match="no boundary_ratio"):
        detect_layout(tmp_path / "a14b")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model_index.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="bad/model_index.json: unreadable JSON"):
        detect_layout(tmp_path / "bad")


@pytest.fixture
def layouts(tmp_path):
    return {"t2v": detect_layout(_write_model(tmp_path / "t2v")),
            "i2v": detect_layout(_write_model(tmp_path / "i2v", cls="WanImageToVideoPipeline", image_encoder=True)),
            "ti2v": detect_layout(_write_model(tmp_path / "ti2v", expand=True, vae_spatial=16))}


def _check(layout, device="cuda", **fields):
    validate_request(GenerationRequest(**{"prompt": "neon city", **fields}), layout, DEVICE_LIMITS[device])


def test_size_must_be_a_multiple_of_vae_factor_times_patch(layouts):
    _check(layouts["t2v"], width=480, height=272)
    with pytest.raises(RequestError, match=r"height 270 must be a multiple of 16 .*nearest: 256 or 272"):
        _check(layouts["t2v"], width=480, height=270)
    # TI2V-5B's VAE compresses 16x, so 272 (fine for Wan 2.1) is not allowed there.
    with pytest.raises(RequestError, match=r"height 272 must be a multiple of 32 for wan2.2-ti2v-5b.*256 or 288"):
        _check(layouts["ti2v"], width=480, height=272)
    _check(layouts["ti2v"], width=480, height=288)


@pytest.mark.parametrize("frames, ok", [(5, True), (17, True), (81, True), (16, False), (1, False), (18, False)])
def test_frames_are_of_the_form_4k_plus_1(layouts, frames, ok):
    if ok:
        _check(layouts["t2v"], frames=frames)
    else:
        with pytest.raises(RequestError, match=r"frames .* must be of the form 4k\+1"):
            _check(layouts["t2v"], frames=frames)


def test_frame_error_suggests_neighbours(layouts):
    with pytest.raises(RequestError, match="nearest: 17 or 21"):
        _check(layouts["t2v"], frames=19)


@pytest.mark.parametrize("prompt, message", [
    ("   ", "prompt is empty"),
    ("x" * 2001, "2001 characters long; at most 2000"),
    ("neon\x00city", "control or unassigned character U\\+0000 at position 4"),
])
def test_prompt_content_rules(layouts, prompt, message):
    with pytest.raises(RequestError, match=message):
        _check(layouts["t2v"], prompt=prompt)


def test_prompt_may_hold_newlines_and_any_script(layouts):
    _check(layouts["t2v"], prompt="霓虹城市\nnight\train")


def test_device_limits(layouts):
    with pytest.raises(RequestError, match="over this device's limit of 262144"):
        _check(layouts["t2v"], device="cpu", width=832, height=480)
    with pytest.raises(RequestError, match="frames 81 is over this device's limit of 33"):
        _check(layouts["t2v"], device="cpu", frames=81)
    _check(layouts["t2v"], device="cuda", width=1280, height=720, frames=81)


def test_init_image_rules_follow_the_layout(layouts):
    with pytest.raises(RequestError, match="text-to-video and takes no init image"):
        _check(layouts["t2v"], init_image="frame.png")
    with pytest.raises(RequestError, match="needs an init image"):
        _check(layouts["i2v"])
    _check(layouts["ti2v"], width=480, height=288)  # TI2V: image optional
    _check(layouts["ti2v"], width=480, height=288, init_image="frame.png")


def test_styles_and_other_fields(layouts):
    with pytest.raises(RequestError, match="morph 1.5 must be a number from 0"):
        _check(layouts["t2v"], styles=("a", "b"), morph=1.5)
    with pytest.raises(RequestError, match="style 2 is empty"):
        _check(layouts["t2v"], styles=("cyberpunk", ""))
    with pytest.raises(RequestError, match="needs a prompt, prompt embeddings or at least one style"):
        validate_request(GenerationRequest(prompt=None), layouts["t2v"], DEVICE_LIMITS["cpu"])
    with pytest.raises(RequestError, match="guidance_2 applies to the two-expert"):
        _check(layouts["t2v"], guidance_2=3.0)
    with pytest.raises(RequestError, match="seed -1"):
        _check(layouts["t2v"], seed=-1)
    _check(layouts["t2v"], prompt=None, styles=("cyberpunk", "watercolor"), morph=0.5)


def test_parse_size():
    assert parse_size("480x272") == (480, 272)
    assert parse_size("832*480") == (832, 480)
    with pytest.raises(RequestError, match="'480' is not WIDTHxHEIGHT"):
        parse_size("480")


def test_settings_reject_unknown_values():
    with pytest.raises(RequestError, match="dtype 'fp8' is not allowed; choose one of auto, float32"):
        PipelineSettings(dtype="fp8")
    with pytest.raises(RequestError, match="device 'tpu'"):
        PipelineSettings(device="tpu")
