"""Wan 2.1 / 2.2 pipelines through diffusers: loading, warm generators, generation with progress.

`load_generator(model, settings)` loads a local diffusers directory (or a hub id when the machine
is online) into a `WanGenerator`, which keeps the pipeline warm in its worker and runs
`GenerationRequest`s: prompt or embeddings, negative prompt, seed, frames, size, steps, guidance
(one value per expert on Wan 2.2 A14B), an optional init image, an optional style morph, per-step
progress and cancellation through diffusers' `callback_on_step_end`.

Everything here runs on the generation worker's thread or process; nothing here may run on the
render thread (a single step takes from milliseconds to seconds).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from live.gen.deps import require_gen_extra
from live.gen.errors import GenerationCancelled, ModelLoadError, RequestError
from live.gen.layouts import ModelLayout, detect_layout
from live.gen.request import GenerationRequest, style_prompts, validate_request
from live.gen.settings import PipelineSettings, limits_for, resolve_settings

require_gen_extra("Wan generation")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from live.gen.style import StyleMorph  # noqa: E402
from live.gen.teacache import TeaCacheConfig, apply_teacache, remove_teacache, teacache_stats  # noqa: E402

logger = logging.getLogger(__name__)

#: Names of the denoiser components of a Wan pipeline, in schedule order.
EXPERTS = ("transformer", "transformer_2")


@dataclass(frozen=True)
class StepProgress:
    """Progress after one denoising step (1-based `step` of `total`)."""

    step: int
    total: int
    timestep: float
    elapsed_s: float


@dataclass
class GenerationResult:
    """A generated clip and how it was made.

    Attributes:
        frames: (frames, height, width, 3) float32 in 0..1; with `decode=False` the latents
            (channels, latent frames, height/8 or /16, width/8 or /16) instead.
        fps: the model's frame rate.
        steps, guidance, guidance_2: the values actually used (defaults filled in).
        styles: (style, weight) pairs of the morph, empty without styles.
        timings: seconds for "encode", "denoise", "decode" and "total".
        transformer_calls: denoiser calls (cond and uncond count separately).
        computed_calls: of those, the ones whose block stack ran (fewer with TeaCache).
        teacache: per expert, {"computed", "skipped"} of this run; empty without TeaCache.
    """

    frames: np.ndarray
    fps: int
    width: int
    height: int
    seed: int
    steps: int
    guidance: float
    guidance_2: float | None
    styles: list[tuple[str, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    transformer_calls: int = 0
    computed_calls: int = 0
    teacache: dict[str, dict[str, int]] = field(default_factory=dict)


class _Cancelled(Exception):
    def __init__(self, step: int) -> None:
        super().__init__(step)
        self.step = step


def resolve_model_source(source: str | os.PathLike) -> Path:
    """A local model directory for `source`: the directory itself, or a hub snapshot when online."""
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{path}: not a directory; --model takes a diffusers model directory")
        return path
    text = str(source)
    looks_like_hub_id = text.count("/") == 1 and not text.startswith((".", "/", "~"))
    if not looks_like_hub_id:
        raise ModelLoadError(f"{path}: no such model directory")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelLoadError(f"{text}: not a local directory, and HF_HUB_OFFLINE is set; give a local model directory")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(text))
    except Exception as exc:  # network, auth, missing repo: all mean "cannot load this model"
        raise ModelLoadError(f"{text}: cannot fetch from the model hub ({exc}); give a local model directory") from exc


def _torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _dtype_keyword() -> str:
    # diffusers 0.42 renamed from_pretrained's `torch_dtype` to `dtype` (the old name warns).
    import diffusers
    from packaging.version import Version

    return "dtype" if Version(diffusers.__version__).release >= (0, 42) else "torch_dtype"


def _load_image(image: Any):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, os.PathLike)):
        try:
            with Image.open(image) as opened:
                return opened.convert("RGB")
        except OSError as exc:
            raise RequestError(f"init image {image}: cannot read it ({exc})") from exc
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise RequestError(f"init image must be HxWx3 (or RGBA), got shape {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(array[..., :3], mode="RGB")


class WanGenerator:
    """A loaded Wan pipeline kept warm, running one request at a time.

    Worker thread or process only. `generate` is not re-entrant: one generation at a time (a lock
    enforces it). `clock` is injected (seconds, monotonic) so timings are testable.
    """

    def __init__(self, pipe, layout: ModelLayout, settings: PipelineSettings, model_path: Path,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.pipe = pipe
        self.layout = layout
        self.settings = settings
        self.model_path = model_path
        self.clock = clock
        self._lock = threading.Lock()
        self._i2v_pipe = None
        self._calls = {name: 0 for name in EXPERTS}
        self.teacache: dict[str, TeaCacheConfig] = {}
        for name in EXPERTS:
            module = getattr(pipe, name, None)
            if module is not None:
                module.register_forward_pre_hook(self._counter(name))
        pipe.set_progress_bar_config(disable=True)

    def _counter(self, name: str):
        def count(module, args):
            self._calls[name] += 1
        return count

    @property
    def experts(self) -> dict[str, torch.nn.Module]:
        """The denoiser(s) by component name ("transformer", and "transformer_2" on A14B)."""
        return {name: getattr(self.pipe, name) for name in EXPERTS if getattr(self.pipe, name, None) is not None}

    @property
    def device(self) -> torch.device:
        """Where inputs go (the execution device, also under CPU offload)."""
        return self.pipe._execution_device

    # -- caches -------------------------------------------------------------------------------
    def set_teacache(self, configs: TeaCacheConfig | Mapping[str, TeaCacheConfig] | None) -> None:
        """Install TeaCache on every expert (one config for all, or one per expert name); None removes it."""
        for name, module in self.experts.items():
            remove_teacache(module)
        self.teacache = {}
        if configs is None:
            return
        for name, module in self.experts.items():
            config = configs if isinstance(configs, TeaCacheConfig) else configs.get(name)
            if config is None:
                raise ValueError(f"no TeaCache config for expert {name!r}; given: {', '.join(configs)}")
            apply_teacache(module, config)
            self.teacache[name] = config

    # -- text ---------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Tokens the text encoder would read for `text` (special tokens included)."""
        return len(self.pipe.tokenizer(text, add_special_tokens=True, truncation=False).input_ids)

    def encode_text(self, texts: list[str], max_sequence_length: int = 512) -> torch.Tensor:
        """Text-encoder output for each text: (len(texts), max_sequence_length, channels).

        A text longer than `max_sequence_length` tokens is a RequestError rather than silently cut.
        """
        for text in texts:
            count = self.count_tokens(text)
            if count > max_sequence_length:
                raise RequestError(
                    f"prompt {text[:40]!r}... is {count} tokens; the text encoder reads at most {max_sequence_length}"
                )
        embeds, _ = self.pipe.encode_prompt(prompt=texts, do_classifier_free_guidance=False,
                                            max_sequence_length=max_sequence_length, device=self.device)
        return embeds

    def style_morph(self, request: GenerationRequest) -> StyleMorph:
        """The StyleMorph of a request's styles (each combined with its prompt)."""
        texts = style_prompts(request)
        embeds = self.encode_text(texts, request.max_sequence_length)
        return StyleMorph(list(request.styles), [embeds[i:i + 1] for i in range(len(texts))])

    # -- generation ---------------------------------------------------------------------------
    def _pipeline_for(self, request: GenerationRequest):
        if request.init_image is None or self.layout.pipeline_class == "WanImageToVideoPipeline":
            return self.pipe
        if self._i2v_pipe is None:  # TI2V-5B: the same components through the image-to-video pipeline
            from diffusers import WanImageToVideoPipeline

            self._i2v_pipe = WanImageToVideoPipeline.from_pipe(self.pipe)
            self._i2v_pipe.set_progress_bar_config(disable=True)
        return self._i2v_pipe

    def generate(self, request: GenerationRequest, *, on_step: Callable[[StepProgress], None] | None = None,
                 cancel: threading.Event | None = None) -> GenerationResult:
        """Run one request; returns the frames and how they were made.

        `on_step` is called after every denoising step on this thread. If `cancel` is set, the run
        stops at the end of the step in progress (within one step) and GenerationCancelled is
        raised; the VAE decode of the abandoned clip is skipped.
        """
        layout = self.layout
        validate_request(request, layout, limits_for(self.settings.device))
        steps = request.steps or layout.default_steps
        guidance = layout.default_guidance if request.guidance is None else float(request.guidance)
        guidance_2 = None
        if layout.two_experts:
            guidance_2 = layout.default_guidance_2 if request.guidance_2 is None else float(request.guidance_2)
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(0, steps)

        with self._lock:
            clock = self.clock
            start = clock()
            use_cfg = guidance > 1.0 or (guidance_2 is not None and guidance_2 > 1.0)
            style_weights: list[tuple[str, float]] = []
            if request.styles:
                morph = self.style_morph(request)
                prompt_embeds = morph.at(request.morph)
                style_weights = morph.weights(request.morph)
            elif request.prompt_embeds is not None:
                prompt_embeds = request.prompt_embeds.to(self.device)
            else:
                prompt_embeds = self.encode_text([request.prompt], request.max_sequence_length)
            negative_embeds = None
            if use_cfg:
                if request.negative_prompt_embeds is not None:
                    negative_embeds = request.negative_prompt_embeds.to(self.device)
                else:
                    negative_embeds = self.encode_text([request.negative_prompt or ""], request.max_sequence_length)
            encoded = clock()

            pipe = self._pipeline_for(request)
            kwargs: dict[str, Any] = dict(
                prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_embeds, height=request.height,
                width=request.width, num_frames=request.frames, num_inference_steps=steps,
                guidance_scale=guidance, generator=torch.Generator("cpu").manual_seed(request.seed),
                output_type="np" if request.decode else "latent", max_sequence_length=request.max_sequence_length,
            )
            if guidance_2 is not None:
                kwargs["guidance_scale_2"] = guidance_2
            if request.init_image is not None:
                kwargs["image"] = _load_image(request.init_image)
            marks = {"last_step": encoded}

            def step_end(pipeline, index, timestep, callback_kwargs):
                marks["last_step"] = clock()
                if on_step is not None:
                    on_step(StepProgress(index + 1, steps, float(timestep), marks["last_step"] - start))
                if cancel is not None and cancel.is_set():
                    pipeline._interrupt = True  # diffusers' own flag, for any code that checks it
                    raise _Cancelled(index + 1)
                return callback_kwargs

            calls_before = dict(self._calls)
            for module in self.experts.values():  # an expert this run never calls must report zero
                stats = teacache_stats(module)
                if stats is not None:
                    stats.records, stats.last_run = [], []
            try:
                output = pipe(callback_on_step_end=step_end, **kwargs)
            except _Cancelled as stop:
                # Raising from the callback ends the loop at once and skips the VAE decode that the
                # interrupt flag alone would still run; the hooks diffusers resets at the end of a
                # call are reset here instead.
                self._reset_after_abort(pipe)
                raise GenerationCancelled(stop.step, steps) from None
            except BaseException:
                self._reset_after_abort(pipe)
                raise
            done = clock()

        if request.decode:
            frames = np.asarray(output.frames[0], dtype=np.float32)
        else:  # latents (channels, latent frames, h, w)
            frames = output.frames[0].float().cpu().numpy()
        calls = sum(self._calls[n] - calls_before[n] for n in EXPERTS)
        teacache: dict[str, dict[str, int]] = {}
        computed = calls
        if self.teacache:
            skipped_total = 0
            for name, module in self.experts.items():
                stats = teacache_stats(module)
                run = stats.run() if stats is not None else []
                skipped = sum(1 for record in run if not record.computed)
                teacache[name] = {"computed": len(run) - skipped, "skipped": skipped}
                skipped_total += skipped
            computed = calls - skipped_total
        return GenerationResult(
            frames=frames, fps=layout.fps, width=request.width, height=request.height, seed=request.seed,
            steps=steps, guidance=guidance, guidance_2=guidance_2, styles=style_weights,
            timings={"encode": encoded - start, "denoise": marks["last_step"] - encoded,
                     "decode": done - marks["last_step"], "total": done - start},
            transformer_calls=calls, computed_calls=computed, teacache=teacache,
        )

    def _reset_after_abort(self, pipe) -> None:
        for module in self.experts.values():
            reset = getattr(module, "_reset_stateful_cache", None)
            if reset is not None:
                reset()
        pipe.maybe_free_model_hooks()


def load_generator(source: str | os.PathLike, settings: PipelineSettings | None = None, *,
                   clock: Callable[[], float] = time.perf_counter) -> WanGenerator:
    """Load a Wan pipeline from a local directory (or a hub id when online) into a WanGenerator.

    Worker thread or process. Raises ModelLoadError naming the directory and the cause.
    """
    path = resolve_model_source(source)
    layout = detect_layout(path)
    settings = resolve_settings(settings or PipelineSettings())
    from diffusers import WanImageToVideoPipeline, WanPipeline

    cls = WanPipeline if layout.pipeline_class == "WanPipeline" else WanImageToVideoPipeline
    dtypes = {"default": _torch_dtype(settings.dtype)}
    if settings.vae_float32:
        dtypes["vae"] = torch.float32
    try:
        pipe = cls.from_pretrained(str(path), **{_dtype_keyword(): dtypes})
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"{path}: cannot load the {layout.name} pipeline ({exc})") from exc
    if settings.offload == "model":
        pipe.enable_model_cpu_offload(device=settings.device)
    elif settings.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=settings.device)
    else:
        pipe.to(settings.device)
    if settings.vae_tiling:
        pipe.vae.enable_tiling()
    if settings.vae_slicing:
        pipe.vae.enable_slicing()
    generator = WanGenerator(pipe, layout, settings, path, clock=clock)
    for name, module in generator.experts.items():
        if settings.attention_backend:
            try:
                module.set_attention_backend(settings.attention_backend)
            except (ValueError, RuntimeError, ImportError) as exc:
                raise ModelLoadError(f"attention backend {settings.attention_backend!r} unavailable: {exc}") from exc
        if settings.compile:
            module.compile_repeated_blocks(fullgraph=False)
    logger.info("loaded %s from %s on %s (%s)", layout.name, path, settings.device, settings.dtype)
    return generator


_WARM: dict[tuple[str, PipelineSettings], WanGenerator] = {}
_WARM_LOCK = threading.Lock()


def warm_generator(source: str | os.PathLike, settings: PipelineSettings | None = None) -> WanGenerator:
    """The generator for (source, settings), loading it on first use and keeping it warm after.

    Worker process only: a loaded pipeline holds gigabytes; `release_generators` frees them.
    """
    key = (str(Path(source).expanduser().resolve()) if Path(source).expanduser().exists() else str(source),
           settings or PipelineSettings())
    with _WARM_LOCK:
        if key not in _WARM:
            _WARM[key] = load_generator(source, settings)
        return _WARM[key]


def release_generators() -> None:
    """Drop every warm generator (their memory is freed when nothing else holds them)."""
    with _WARM_LOCK:
        _WARM.clear()
