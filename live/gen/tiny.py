"""Tiny randomly initialised Wan pipelines of every supported layout, built from configs.

They exist so tests, benchmarks and offline smoke runs exercise the same loading and generation
code as the real checkpoints without downloading anything: `save_tiny_pipeline` writes a diffusers
model directory with `save_pretrained`, which `live.gen.pipelines.wan.load_pipeline` reads back.
Weights are random, so outputs are noise; sizes are a few thousand parameters per component.
Runs on the calling thread; needs the extra `gen`.
"""

from __future__ import annotations

from pathlib import Path

from live.gen.deps import require_gen_extra
from live.gen.layouts import LAYOUT_NAMES

require_gen_extra("tiny Wan pipelines")

import torch  # noqa: E402

#: Boundary ratios of the Wan 2.2 A14B checkpoints (T2V 0.875, I2V 0.9).
_BOUNDARY = {"wan2.2-t2v-a14b": 0.875, "wan2.2-i2v-a14b": 0.9}


def _transformer(in_channels: int, out_channels: int, seed: int, *, layers: int, heads: int, head_dim: int,
                 text_dim: int, ffn_dim: int, image_dim: int | None = None):
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=heads, attention_head_dim=head_dim, in_channels=in_channels,
        out_channels=out_channels, text_dim=text_dim, freq_dim=256, ffn_dim=ffn_dim, num_layers=layers,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        image_dim=image_dim, added_kv_proj_dim=heads * head_dim if image_dim else None,
    ).eval()


def build_tiny_pipeline(layout: str, seed: int = 0, *, layers: int = 2, heads: int = 2, head_dim: int = 12,
                        ffn_dim: int = 32):
    """Build an in-memory tiny diffusers pipeline of `layout` (one of LAYOUT_NAMES).

    `layers`, `heads`, `head_dim` (a multiple of 6, for Wan's 3-axis rotary embedding) and
    `ffn_dim` size the transformer; the benchmark makes it larger so that the block stack
    dominates the run time as it does in the real models.
    """
    if layout not in LAYOUT_NAMES:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUT_NAMES)}")
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanPipeline
    from transformers import ByT5Tokenizer, UMT5Config, UMT5EncoderModel

    tokenizer = ByT5Tokenizer()  # byte-level: needs no vocabulary file
    text_dim = 32
    torch.manual_seed(seed)
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=len(tokenizer), d_model=text_dim, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
        relative_attention_num_buckets=8)).eval()
    ti2v = layout == "wan2.2-ti2v-5b"
    torch.manual_seed(seed + 1)
    if ti2v:
        # Wan 2.2 VAE: 48 latent channels, 2x2 pixel patches, spatial factor 16.
        vae = AutoencoderKLWan(base_dim=3, z_dim=48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True], is_residual=True, in_channels=12,
                               out_channels=12, patch_size=2, scale_factor_spatial=16,
                               latents_mean=[0.0] * 48, latents_std=[1.0] * 48).eval()
    else:
        vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True]).eval()
    z = vae.config.z_dim
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    size = dict(layers=layers, heads=heads, head_dim=head_dim, text_dim=text_dim, ffn_dim=ffn_dim)

    if layout in ("wan2.1-t2v", "wan2.2-ti2v-5b", "wan2.2-t2v-a14b"):
        transformer = _transformer(z, z, seed + 2, **size)
        transformer_2 = _transformer(z, z, seed + 3, **size) if layout == "wan2.2-t2v-a14b" else None
        return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                           transformer=transformer, transformer_2=transformer_2,
                           boundary_ratio=_BOUNDARY.get(layout), expand_timesteps=ti2v)

    # Image-to-video: latents, a 4-channel first-frame mask and the encoded image are concatenated.
    in_channels = 2 * z + 4
    if layout == "wan2.1-i2v":
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

        torch.manual_seed(seed + 4)
        image_encoder = CLIPVisionModel(CLIPVisionConfig(
            hidden_size=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
            intermediate_size=16, patch_size=4)).eval()
        image_processor = CLIPImageProcessor(crop_size=32, size=32)
        transformer = _transformer(in_channels, z, seed + 2, image_dim=4, **size)
        return WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                                       image_processor=image_processor, image_encoder=image_encoder,
                                       transformer=transformer)
    transformer = _transformer(in_channels, z, seed + 2, **size)
    transformer_2 = _transformer(in_channels, z, seed + 3, **size)
    return WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                                   transformer=transformer, transformer_2=transformer_2,
                                   boundary_ratio=_BOUNDARY[layout])


def save_tiny_pipeline(layout: str, directory: str | Path, seed: int = 0, **size) -> Path:
    """Build a tiny `layout` pipeline and save it as a diffusers model directory; returns the path."""
    directory = Path(directory)
    build_tiny_pipeline(layout, seed, **size).save_pretrained(directory)
    return directory
