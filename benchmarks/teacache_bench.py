"""TeaCache against no cache, diffusers' FirstBlockCache and MagCache, on one Wan model and seed.

Every configuration generates the same prompt embeddings and seed; the script reports wall time
of the denoising loop, steps, transformer calls and computed calls (calls whose last block ran),
and PSNR / SSIM of the frames against the uncached output. Runs are interleaved (one of each
configuration per round) and medians reported.

Target: wall time falls in proportion to the calls skipped, speed-up >= 0.9 x calls / computed
calls for every TeaCache threshold that skips. With random weights PSNR and SSIM say how far the
output moved, not how good it looks: the quality target (PSNR >= 30 dB at 2x) waits for real weights.

    python benchmarks/teacache_bench.py              # CPU, a small random model (about a minute)
    python benchmarks/teacache_bench.py --full-1.3b  # GPU: Wan 2.1 1.3B architecture, 480x832, 33 frames, 20 steps, bf16
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks._common import machine_info, print_table, target, write_result  # noqa: E402

# The Wan 2.1 T2V 1.3B transformer config (Wan-AI/Wan2.1-T2V-1.3B-Diffusers, transformer/config.json).
WAN21_13B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
                 text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                 qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB against a reference `b` with the given peak (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5) over frames and channels."""
    x = torch.from_numpy(a.astype(np.float64)).permute(0, 3, 1, 2).reshape(-1, 1, *a.shape[1:3])
    y = torch.from_numpy(b.astype(np.float64)).permute(0, 3, 1, 2).reshape(-1, 1, *b.shape[1:3])
    size = min(11, a.shape[1], a.shape[2])
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * 1.5**2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2).view(1, 1, size, size)
    f = lambda t: torch.nn.functional.conv2d(t, window)  # noqa: E731
    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(value.mean())


def build_generator(full: bool, device: str):
    """A WanGenerator around a random pipeline: the 1.3B architecture (GPU) or a small one (CPU)."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    from live.gen.layouts import ModelLayout
    from live.gen.pipelines.wan import WanGenerator
    from live.gen.settings import PipelineSettings
    from live.gen.tiny import build_tiny_pipeline

    if full:
        torch.manual_seed(0)
        with torch.device(device):
            transformer = WanTransformer3DModel(**WAN21_13B).eval()
            vae = AutoencoderKLWan().eval()  # the Wan 2.1 VAE architecture (its defaults)
        _to_bf16_like_from_pretrained(transformer)
        scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
        pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=scheduler, transformer=transformer)
        settings = PipelineSettings(device=device, dtype="bfloat16", offload="none", vae_tiling=False)
        inner, layers, text_dim = 1536, 30, 4096
    else:
        pipe = build_tiny_pipeline("wan2.1-t2v", layers=8, heads=4, head_dim=48, ffn_dim=768).to(device)
        settings = PipelineSettings(device=device, dtype="float32", offload="none", vae_tiling=False)
        inner, layers, text_dim = 192, 8, 32
    layout = ModelLayout(name="wan2.1-t2v", pipeline_class="WanPipeline", task="t2v", spatial_multiple=16,
                         temporal_factor=4, two_experts=False, boundary_ratio=None, expand_timesteps=False,
                         inner_dim=inner, num_layers=layers, fps=16, default_steps=20, default_guidance=5.0,
                         default_guidance_2=None)
    clock = DualClock()
    return WanGenerator(pipe, layout, settings, Path("random-weights"), clock=clock), text_dim


def _to_bf16_like_from_pretrained(model) -> None:
    # from_pretrained(dtype=bf16) keeps `_keep_in_fp32_modules` (time embedder, norms, modulation
    # tables) in float32; a plain .to(bf16) would not, so cast everything else only.
    keep = set(getattr(type(model), "_keep_in_fp32_modules", None) or ())
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if not keep.intersection(name.split(".")):
            tensor.data = tensor.data.to(torch.bfloat16)


class DualClock:
    """The generator's injected clock: returns process CPU time, and logs wall time alongside.

    The generator reads it at start, after encoding, after every step and at the end, so the
    denoising loop's wall time is the span from the 2nd reading to the one before last. CPU time
    (one torch thread) is the figure that other load on a shared machine cannot distort.
    """

    def __init__(self) -> None:
        self.marks: list[tuple[float, float]] = []

    def __call__(self) -> float:
        cpu = time.process_time()
        self.marks.append((time.perf_counter(), cpu))
        return cpu

    def denoise_wall(self) -> float:
        return self.marks[-2][0] - self.marks[1][0]


class CallCounter:
    """Counts transformer calls and computed calls (calls in which the last block's FFN ran)."""

    def __init__(self, transformer) -> None:
        self.calls = self.computed = 0
        transformer.register_forward_pre_hook(lambda m, a: self._inc("calls"))
        transformer.blocks[-1].ffn.register_forward_pre_hook(lambda m, a: self._inc("computed"))

    def _inc(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)

    def reset(self) -> None:
        self.calls = self.computed = 0


def mag_ratios(generator, request) -> list[float]:
    """MagCache calibration: per step, mean over tokens of |residual_t| / |residual_t-1| (cond pass).

    The Wan pipeline calls cond then uncond in every step, so even calls are the cond pass.
    """
    transformer = generator.pipe.transformer
    inputs, residuals = [], []
    h1 = transformer.blocks[0].register_forward_pre_hook(lambda m, a: inputs.append(a[0]))
    h2 = transformer.blocks[-1].register_forward_hook(lambda m, a, out: residuals.append((out - inputs[-1]).float()))
    try:
        generator.generate(request)
    finally:
        h1.remove()
        h2.remove()
    cond = residuals[0::2]
    ratios = [1.0]
    for prev, cur in zip(cond, cond[1:]):
        ratios.append(float((cur.norm(dim=-1) / prev.norm(dim=-1).clamp_min(1e-8)).mean()))
    return ratios


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-1.3b", dest="full", action="store_true", help="GPU: full-size Wan 2.1 1.3B architecture")
    parser.add_argument("--device", default=None, help="torch device (default cuda with --full-1.3b, else cpu)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3 CPU, 2 GPU)")
    parser.add_argument("--thresholds", default="0.1,0.2,0.3,0.5", help="TeaCache thresholds (comma separated)")
    parser.add_argument("--name", default=None, help="result name (default teacache_bench or teacache_bench_gpu)")
    args = parser.parse_args(argv)

    from diffusers import FirstBlockCacheConfig, MagCacheConfig

    from live.gen.request import GenerationRequest
    from live.gen.teacache import TeaCacheConfig
    from live.gen.teacache_calibration import calibrate_teacache

    device = args.device or ("cuda" if args.full else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("--full-1.3b needs a CUDA GPU", file=sys.stderr)
        return 2
    if device == "cpu":
        torch.set_num_threads(1)
    rounds = args.rounds or (2 if args.full else 3)
    width, height, frames, steps = (832, 480, 33, 20) if args.full else (128, 128, 17, 20)
    generator, text_dim = build_generator(args.full, device)
    counter = CallCounter(generator.pipe.transformer)
    dtype = torch.bfloat16 if args.full else torch.float32
    g = torch.Generator("cpu").manual_seed(1234)
    # Fixed random prompt embeddings stand in for the UMT5 output (its weights are not the subject).
    embeds = (torch.randn(1, 512, text_dim, generator=g) * 0.2).to(device, dtype)
    negative = (torch.randn(1, 512, text_dim, generator=g) * 0.2).to(device, dtype)
    # On the GPU the random full-size VAE would add seconds per run and say nothing: compare latents.
    decode = not args.full
    request = GenerationRequest(prompt_embeds=embeds, negative_prompt_embeds=negative, seed=7, frames=frames,
                                width=width, height=height, steps=steps, guidance=5.0, decode=decode)

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    generator.generate(request)  # warm-up (kernels, allocator)
    sync()
    warmup_s = time.perf_counter() - t0
    # TeaCache calibration on this very model (prompt embeddings vary by seed instead of prompts).
    calibration = _calibrate_with_embeds(generator, request, calibrate_teacache)
    ratios = mag_ratios(generator, request)

    configs: dict[str, object] = {"none": None}
    for thr in (float(x) for x in args.thresholds.split(",")):
        configs[f"teacache {thr:g}"] = TeaCacheConfig.for_mode(calibration, retention=False, threshold=thr)
    configs["fbc 0.05"] = FirstBlockCacheConfig(threshold=0.05)
    configs["magcache 0.06"] = MagCacheConfig(threshold=0.06, max_skip_steps=3, retention_ratio=0.2,
                                              num_inference_steps=steps, mag_ratios=ratios)

    timings: dict[str, list[float]] = {name: [] for name in configs}
    cpu_timings: dict[str, list[float]] = {name: [] for name in configs}
    outputs: dict[str, np.ndarray] = {}
    counts: dict[str, tuple[int, int]] = {}
    transformer = generator.pipe.transformer
    for _ in range(rounds):
        for name, config in configs.items():
            generator.set_teacache(config if isinstance(config, TeaCacheConfig) else None)
            if config is not None and not isinstance(config, TeaCacheConfig):
                transformer.enable_cache(config)
            counter.reset()
            sync()
            generator.clock.marks.clear()
            result = generator.generate(request)
            sync()
            wall = generator.clock.denoise_wall()
            if config is not None and not isinstance(config, TeaCacheConfig):
                transformer.disable_cache()
            timings[name].append(wall)
            cpu_timings[name].append(result.timings["denoise"])
            outputs[name] = result.frames
            counts[name] = (counter.calls, counter.computed)
    generator.set_teacache(None)

    base_t = statistics.median(timings["none"])
    base_cpu = statistics.median(cpu_timings["none"])
    # Frames: peak 1. Latents: the reference's value range, so PSNR stays a relative error measure.
    peak = 1.0 if decode else float(outputs["none"].max() - outputs["none"].min())
    rows, metrics, targets = [], {"configs": {}}, {}
    for name in configs:
        calls, computed = counts[name]
        t = statistics.median(timings[name])
        speedup = base_t / t
        call_ratio = calls / max(computed, 1)
        cpu_speedup = base_cpu / statistics.median(cpu_timings[name])
        row = {"config": name, "denoise_s": t, "steps": steps, "calls": calls, "computed": computed,
               "call_ratio": call_ratio, "speedup": speedup, "speedup/call_ratio": speedup / call_ratio,
               "cpu_speedup/call_ratio": cpu_speedup / call_ratio,
               "psnr_db": psnr(outputs[name], outputs["none"], peak), "ssim": ssim(outputs[name], outputs["none"]) if decode else None}
        rows.append(row)
        metrics["configs"][name] = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                                    for k, v in row.items() if k != "config"}
    print_table(rows)
    skipping = [r for r in rows if r["config"].startswith("teacache") and r["computed"] < r["calls"]]
    proportional = [r["speedup/call_ratio"] for r in skipping]
    metrics.update({
        "model": "Wan 2.1 T2V 1.3B architecture, random weights, bf16" if args.full else
                 "random Wan 2.1 T2V, 8 layers, width 192, float32",
        "size": f"{width}x{height}", "frames": frames, "steps": steps, "rounds": rounds, "device": device,
        "warmup_s": warmup_s,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "compared": "decoded frames" if decode else "final latents (VAE skipped)",
        "transformer_step_s": base_t / steps,
        "transformer_call_s": base_t / max(counts["none"][0], 1),
        "teacache_coefficients": list(calibration),
        "mag_ratios": ratios,
        "quality_note": "random weights: PSNR/SSIM show how far outputs moved, not visual quality; "
                        "the PSNR >= 30 dB at 2x target waits for real weights",
    })
    if device.startswith("cuda"):
        metrics["gpu"] = torch.cuda.get_device_name(0)
    if proportional:
        targets["speedup_vs_call_ratio_min"] = target(">=", 0.9, min(proportional))
    if skipping and device == "cpu":
        # One torch thread: CPU time is the wall time of a quiet machine, without other load.
        targets["cpu_time_speedup_vs_call_ratio_min"] = target(">=", 0.9, min(r["cpu_speedup/call_ratio"] for r in skipping))
    name = args.name or ("teacache_bench_gpu" if args.full else "teacache_bench")
    machine = machine_info()
    if device.startswith("cuda"):
        machine["gpu"] = torch.cuda.get_device_name(0)
    path = write_result(name, metrics, targets, machine=machine)
    print(f"wrote {path}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load is not None and device == "cpu" and load > (os.cpu_count() or 1):
        print(f"note: load average {load:.1f} on {os.cpu_count()} cores: wall times are distorted; see CPU time")
    return 0 if all(t["met"] for t in targets.values()) else 1


def _calibrate_with_embeds(generator, request, calibrate_teacache) -> tuple[float, ...]:
    """Fit TeaCache's polynomial (plain mode) from uncached runs with the benchmark's embeddings."""
    from dataclasses import replace

    from live.gen.teacache_calibration import CalibrationRecorder, _ContextProbe, fit_calibration

    with _ContextProbe(generator), CalibrationRecorder(generator) as recorder:
        for seed in (11, 12):
            generator.generate(replace(request, seed=seed))
            recorder.end_run()
        samples = recorder.samples()
    cal = fit_calibration(samples, width=request.width, height=request.height, frames=request.frames,
                          steps=request.steps)
    return cal.coefficients["transformer"]["temb"]


if __name__ == "__main__":
    sys.exit(main())
