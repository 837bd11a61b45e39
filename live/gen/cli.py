"""`echoel gen`: generate a clip from a prompt, or calibrate TeaCache for a model.

    echoel gen "PROMPT" --model DIR [--frames 17] [--size 480x272] [--steps N] [--teacache 0.08]
               [--style "A" --style "B" --morph 0.3] --out clip.mp4
    echoel gen calibrate-teacache --model DIR [--size 480x272] [--frames 17] [--steps N]

`add_parser(subparsers)` registers the sub-command on the main parser's subparsers and
`run(args)` executes it (the main CLI calls both). Importing this module does not import torch;
without the extra `gen`, `run` prints the install command. Main thread of the CLI process.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path

from live.gen.errors import GenError

CALIBRATE = "calibrate-teacache"

#: Prompts used for calibration when none are given: varied motion, scenes and light.
DEFAULT_CALIBRATION_PROMPTS = (
    "a neon city street at night, rain, slow camera push",
    "ocean waves crashing on black rocks at sunset",
    "abstract liquid chrome shapes morphing, studio light",
    "a dancer spinning in a dark room lit by strobes",
)

_EPILOG = f"""\
calibration: `echoel gen {CALIBRATE} --model DIR` runs uncached generations at --size, --frames
and --steps and stores the fitted TeaCache polynomials in DIR/echoel_teacache.json (or in
--calibration-out FILE). Generation options (--teacache) then pick the nearest stored entry, else
the published Wan 2.1 coefficients for the architecture.
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `gen` (with its `calibrate-teacache` form) on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "gen", help="generate a video clip with a Wan model (needs the extra 'gen')",
        description="Generate a clip from a prompt with a local Wan model, writing the clip and "
                    "its <name>.meta.json beside it; or calibrate TeaCache for a model.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prompt", help=f'what the clip shows, or "{CALIBRATE}"')
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="local diffusers Wan model directory (or a hub id when online)")
    parser.add_argument("--out", metavar="PATH", help="output clip (.mp4); required to generate")
    parser.add_argument("--negative", default="", metavar="TEXT", help="negative prompt")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--frames", type=int, default=17, help="frames, of the form 4k+1 (default 17)")
    parser.add_argument("--size", default="480x272", metavar="WxH", help="width x height (default 480x272)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    parser.add_argument("--guidance", type=float, help="classifier-free guidance (default: the model's)")
    parser.add_argument("--guidance-2", type=float, help="guidance of the low-noise expert (Wan 2.2 A14B)")
    parser.add_argument("--image", metavar="PATH", help="init image (image-to-video models)")
    parser.add_argument("--style", action="append", default=[], metavar="TEXT",
                        help="a style to morph (repeat for two or more)")
    parser.add_argument("--morph", type=float, default=0.0, help="morph position 0 (first style) to 1 (last)")
    parser.add_argument("--teacache", type=float, metavar="THRESHOLD",
                        help="enable TeaCache with this threshold (e.g. 0.08; higher skips more)")
    parser.add_argument("--teacache-retention", action="store_true",
                        help="TeaCache retention mode (timestep projection, first 5 steps computed)")
    parser.add_argument("--teacache-calibration", metavar="FILE", help="calibration file instead of the model's")
    device = parser.add_argument_group("device")
    device.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    device.add_argument("--dtype", default="auto", help="auto, float32, bfloat16 or float16")
    device.add_argument("--offload", default="auto", help="auto, none, model or sequential")
    device.add_argument("--vae-tiling", action="store_true", default=None, help="decode in tiles (less memory)")
    device.add_argument("--attention-backend", help="diffusers attention backend (e.g. flash, sage)")
    device.add_argument("--compile", action="store_true", help="torch.compile the transformer blocks (GPU)")
    calib = parser.add_argument_group(f"{CALIBRATE}")
    calib.add_argument("--calibration-prompt", action="append", default=[], metavar="TEXT",
                       help="a calibration prompt (repeat; default: four built-in prompts)")
    calib.add_argument("--calibration-seeds", type=int, default=1, metavar="N", help="seeds per prompt (default 1)")
    calib.add_argument("--calibration-out", metavar="FILE", help="store here instead of DIR/echoel_teacache.json")
    return parser


def run(args: argparse.Namespace) -> int:
    """Execute `echoel gen`; returns the exit status (errors are printed without a traceback)."""
    try:
        from live.gen.deps import require_gen_extra

        require_gen_extra("echoel gen")
        if args.prompt == CALIBRATE:
            return _calibrate(args)
        return _generate(args)
    except GenError as exc:
        print(f"echoel gen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("echoel gen: interrupted", file=sys.stderr)
        return 130


def _settings(args):
    from live.gen.settings import PipelineSettings

    return PipelineSettings(device=args.device, dtype=args.dtype, offload=args.offload, vae_tiling=args.vae_tiling,
                            attention_backend=args.attention_backend, compile=args.compile)


def _generate(args) -> int:
    from tqdm import tqdm

    from live import __version__
    from live.gen.clip_output import FINGERPRINT_METHOD, model_fingerprint, write_meta, write_video
    from live.gen.errors import RequestError
    from live.gen.pipelines.wan import load_generator
    from live.gen.request import GenerationRequest, parse_size, validate_request
    from live.gen.settings import limits_for
    from live.gen.teacache_calibration import teacache_configs

    if not args.out:
        raise RequestError("--out PATH is required (where the clip is written, e.g. clip.mp4)")
    out = Path(args.out)
    if out.suffix.lower() != ".mp4":
        raise RequestError(f"--out {out}: the clip is written as H.264 MP4; give a path ending in .mp4")
    width, height = parse_size(args.size)
    if args.image and not Path(args.image).is_file():
        raise RequestError(f"--image {args.image}: no such file")
    request = GenerationRequest(prompt=args.prompt, negative_prompt=args.negative, seed=args.seed, frames=args.frames,
                                width=width, height=height, steps=args.steps, guidance=args.guidance,
                                guidance_2=args.guidance_2, init_image=args.image, styles=tuple(args.style),
                                morph=args.morph)
    started = time.perf_counter()
    generator = load_generator(args.model, _settings(args))
    load_s = time.perf_counter() - started
    validate_request(request, generator.layout, limits_for(generator.settings.device))
    steps = request.steps or generator.layout.default_steps
    cache_meta = None
    if args.teacache is not None:
        configs, source = teacache_configs(generator.model_path, generator.layout, threshold=args.teacache,
                                           retention=args.teacache_retention, width=width, height=height,
                                           steps=steps, calibration_file=args.teacache_calibration)
        generator.set_teacache(configs)
        cache_meta = {"threshold": args.teacache, "retention": args.teacache_retention, "coefficients": source}

    with tqdm(total=steps, desc="denoising", unit="step", file=sys.stderr, leave=False) as bar:
        result = generator.generate(request, on_step=lambda p: bar.update(1))
    write_video(out, result.frames, result.fps)
    meta = {
        "prompt": args.prompt,
        "negative_prompt": args.negative,
        "seed": result.seed,
        "model": {"path": str(generator.model_path.resolve()), "hash": model_fingerprint(generator.model_path),
                  "hash_method": FINGERPRINT_METHOD, "layout": generator.layout.name},
        "width": result.width,
        "height": result.height,
        "frames": int(result.frames.shape[0]),
        "fps": result.fps,
        "steps": result.steps,
        "guidance": result.guidance,
        "guidance_2": result.guidance_2,
        "init_image": str(Path(args.image).resolve()) if args.image else None,
        "cache": {"teacache": None if cache_meta is None else {
            **cache_meta, "transformer_calls": result.transformer_calls, "computed_calls": result.computed_calls,
            "per_expert": result.teacache}},
        "styles": [{"style": s, "weight": w} for s, w in result.styles],
        "morph": args.morph if args.style else None,
        "timings": {"load": load_s, **result.timings},
        "device": generator.settings.device,
        "dtype": generator.settings.dtype,
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "echoel_version": __version__,
    }
    meta_file = write_meta(out, meta)
    print(f"wrote {out} ({meta['frames']} frames, {width}x{height}, {result.fps} fps) and {meta_file.name} "
          f"in {result.timings['total']:.1f} s")
    return 0


def _calibrate(args) -> int:
    from live.gen.pipelines.wan import load_generator
    from live.gen.request import parse_size
    from live.gen.teacache_calibration import calibrate_teacache, calibration_path, save_calibration

    width, height = parse_size(args.size)
    generator = load_generator(args.model, _settings(args))
    steps = args.steps or generator.layout.default_steps
    prompts = args.calibration_prompt or list(DEFAULT_CALIBRATION_PROMPTS)
    seeds = list(range(max(1, args.calibration_seeds)))

    def progress(index: int, total: int) -> None:
        print(f"calibration run {index + 1}/{total}", file=sys.stderr)

    calibration = calibrate_teacache(generator, prompts=prompts, width=width, height=height, frames=args.frames,
                                     steps=steps, seeds=seeds, guidance=args.guidance, on_run=progress)
    target = Path(args.calibration_out) if args.calibration_out else calibration_path(generator.model_path)
    save_calibration(target, calibration)
    for expert, kinds in calibration.coefficients.items():
        for kind, coeffs in kinds.items():
            rms = calibration.rms_error[expert][kind]
            print(f"{expert} {kind}: [{', '.join(f'{c:.6g}' for c in coeffs)}] (rms error {rms:.3g})")
    print(f"stored TeaCache calibration ({width}x{height}, {args.frames} frames, {steps} steps, "
          f"{calibration.samples} samples) in {target}")
    return 0
