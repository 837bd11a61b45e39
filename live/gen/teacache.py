"""TeaCache for the diffusers Wan transformer, in the manner of diffusers' own caches.

TeaCache (Liu et al., "Timestep Embedding Tells: It's Time to Cache for Video Diffusion Model",
reference code ali-vilab/TeaCache, TeaCache4Wan2.1) skips the whole block stack of a denoising
call and adds the residual (block-stack output minus input) cached at the last computed call,
while the accumulated, polynomial-rescaled relative L1 change of the timestep-modulated input
stays under a threshold:

    rel_l1  = mean|m_t - m_prev| / mean|m_prev|
    acc    += poly(rel_l1)           (numpy.poly1d order: highest power first)
    skip   if acc < threshold, else compute and reset acc to 0

The modulated input is the time embedding (`temb`, the reference's `e`), or in retention mode the
six-way timestep projection (`timestep_proj`, the reference's `e0`). The reference forces compute
at the first and last step, or in retention mode at the first five steps. Conditional and
unconditional passes keep separate state: diffusers' Wan pipelines run them inside
`transformer.cache_context("cond")` and `cache_context("uncond")`, and the state here is keyed by
that name. The context also carries the step index and step count, which place the forced steps;
for Wan 2.2 A14B each expert gets its own `apply_teacache` and state.

Usage: `apply_teacache(pipe.transformer, TeaCacheConfig.published("wan2.1-t2v-1.3b"))`.
The hooks run on whatever thread runs the pipeline (the generation worker); never the render thread.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Sequence

from live.gen.deps import require_gen_extra
from live.gen.errors import CalibrationError

require_gen_extra("TeaCache")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from diffusers.hooks import HookRegistry, ModelHook  # noqa: E402
from diffusers.hooks.hooks import BaseState, StateManager  # noqa: E402

try:  # diffusers >= 0.42 describes the denoising call in a CacheContext
    from diffusers.hooks.hooks import CacheContext  # noqa: E402
except ImportError:  # pragma: no cover - older diffusers pass the context name only
    CacheContext = None

logger = logging.getLogger(__name__)

_EMBEDDER_HOOK = "echoel_teacache_embedder"
_HEAD_HOOK = "echoel_teacache_head"
_BLOCK_HOOK = "echoel_teacache_block"

MODULATED_INPUTS = ("temb", "timestep_proj")

# Published rescale polynomials, numpy.poly1d order (highest power first). Source: the TeaCache
# reference implementation, ali-vilab/TeaCache, TeaCache4Wan2.1/teacache_generate.py (the
# `coefficients` set per checkpoint directory, with and without `--use_ret_steps`). They are fitted
# to those exact checkpoints; other weights (Wan 2.2, fine-tunes, random test models) need
# `echoel gen calibrate-teacache`.
PUBLISHED_COEFFICIENTS: dict[tuple[str, bool], tuple[float, ...]] = {
    ("wan2.1-t2v-1.3b", False): (2.39676752e03, -1.31110545e03, 2.01331979e02, -8.29855975e00, 1.37887774e-01),
    ("wan2.1-t2v-1.3b", True): (-5.21862437e04, 9.23041404e03, -5.28275948e02, 1.36987616e01, -4.99875664e-02),
    ("wan2.1-t2v-14b", False): (-5784.54975374, 5449.50911966, -1811.16591783, 256.27178429, -13.02252404),
    ("wan2.1-t2v-14b", True): (-3.03318725e05, 4.90537029e04, -2.65530556e03, 5.87365115e01, -3.15583525e-01),
    ("wan2.1-i2v-14b-480p", False): (-3.02331670e02, 2.23948934e02, -5.25463970e01, 5.87348440e00, -2.01973289e-01),
    ("wan2.1-i2v-14b-480p", True): (2.57151496e05, -3.54229917e04, 1.40286849e03, -1.35890334e01, 1.32517977e-01),
    ("wan2.1-i2v-14b-720p", False): (-114.36346466, 65.26524496, -18.82220707, 4.91518089, -0.23412683),
    ("wan2.1-i2v-14b-720p", True): (8.10705460e03, 2.13393892e03, -3.72934672e02, 1.66203073e01, -4.17769401e-02),
}

#: Checkpoint keys of PUBLISHED_COEFFICIENTS.
PUBLISHED_CHECKPOINTS = tuple(sorted({key for key, _ in PUBLISHED_COEFFICIENTS}))

#: Steps the reference always computes at the start in retention mode (`ret_steps = 5*2` calls).
RETENTION_STEPS = 5


@dataclass
class TeaCacheConfig:
    """Settings of TeaCache on one Wan transformer.

    Attributes:
        threshold: skip while the accumulated rescaled change stays under this; 0 never skips
            (the output then equals the uncached one exactly). The reference suggests 0.05-0.2
            for Wan 2.1 with its published coefficients.
        coefficients: rescale polynomial, highest power first (numpy.poly1d); None uses the raw
            relative L1 change.
        modulated_input: "temb" (the reference's default) or "timestep_proj" (retention mode).
        warmup_steps: leading steps that are always computed (1, or 5 in retention mode).
        compute_last_step: always compute the final step (the reference does, except in
            retention mode).
        max_consecutive_skips: cap on skips in a row per pass; None = no cap.
        num_inference_steps: step count, only needed when the pipeline does not report it in its
            cache context (diffusers before 0.42).
    """

    threshold: float = 0.08
    coefficients: Sequence[float] | None = None
    modulated_input: str = "temb"
    warmup_steps: int = 1
    compute_last_step: bool = True
    max_consecutive_skips: int | None = None
    num_inference_steps: int | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.threshold, (int, float)) and math.isfinite(self.threshold) and self.threshold >= 0):
            raise ValueError(f"TeaCache threshold {self.threshold!r} must be a finite number >= 0")
        if self.modulated_input not in MODULATED_INPUTS:
            raise ValueError(
                f"TeaCache modulated_input {self.modulated_input!r}; allowed: {', '.join(MODULATED_INPUTS)}"
            )
        if self.coefficients is not None:
            coeffs = tuple(float(c) for c in self.coefficients)
            if not coeffs or not all(math.isfinite(c) for c in coeffs):
                raise ValueError(f"TeaCache coefficients {self.coefficients!r} must be finite numbers")
            self.coefficients = coeffs
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 1:
            raise ValueError(f"TeaCache warmup_steps {self.warmup_steps!r} must be >= 1 (step 0 has no cache)")
        if self.max_consecutive_skips is not None and self.max_consecutive_skips < 1:
            raise ValueError("TeaCache max_consecutive_skips must be >= 1 or None")

    @classmethod
    def published(cls, checkpoint: str, *, retention: bool = False, threshold: float = 0.08) -> "TeaCacheConfig":
        """The reference's settings for a Wan 2.1 checkpoint (see PUBLISHED_CHECKPOINTS).

        Retention mode uses the timestep projection, computes the first five steps and lets the
        last one be skipped; the plain mode uses the time embedding and computes first and last.
        """
        key = (checkpoint.lower(), bool(retention))
        if key not in PUBLISHED_COEFFICIENTS:
            raise CalibrationError(
                f"no published TeaCache coefficients for {checkpoint!r}; published: "
                f"{', '.join(PUBLISHED_CHECKPOINTS)}; for other models run `echoel gen calibrate-teacache`"
            )
        return cls.for_mode(PUBLISHED_COEFFICIENTS[key], retention=retention, threshold=threshold)

    @classmethod
    def for_mode(cls, coefficients: Sequence[float] | None, *, retention: bool, threshold: float) -> "TeaCacheConfig":
        """A config in the reference's plain or retention mode with the given polynomial."""
        if retention:
            return cls(threshold=threshold, coefficients=coefficients, modulated_input="timestep_proj",
                       warmup_steps=RETENTION_STEPS, compute_last_step=False)
        return cls(threshold=threshold, coefficients=coefficients, modulated_input="temb",
                   warmup_steps=1, compute_last_step=True)

    def rescale(self, rel_l1: float) -> float:
        """The polynomial-rescaled change (the raw change when no coefficients are set)."""
        if self.coefficients is None:
            return rel_l1
        return float(np.polyval(np.asarray(self.coefficients, dtype=np.float64), rel_l1))


@dataclass(frozen=True)
class TeaCacheStep:
    """One denoising call as TeaCache saw it (for progress reports, tests and benchmarks)."""

    context: str
    step: int
    computed: bool
    forced: bool
    rel_l1: float | None
    rescaled: float | None
    accumulated: float


@dataclass
class TeaCacheStats:
    """Counts of computed and skipped block-stack calls.

    `records` is the run in progress; when diffusers resets the cache at the end of a pipeline
    call, they move to `last_run`. `computed` and `skipped` count over the hook's lifetime.
    """

    records: list[TeaCacheStep] = field(default_factory=list)
    last_run: list[TeaCacheStep] = field(default_factory=list)
    computed: int = 0
    skipped: int = 0

    def end_run(self) -> None:
        """Close the run in progress (keeps an empty run from erasing the last one)."""
        if self.records:
            self.last_run = self.records
            self.records = []

    def run(self) -> list[TeaCacheStep]:
        """The records of the run in progress, or of the last finished run if none is in progress."""
        return self.records or self.last_run


class _TeaCacheState(BaseState):
    """Per cache-context (cond / uncond) state of one transformer."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.modulated: torch.Tensor | None = None
        self.previous_modulated: torch.Tensor | None = None
        self.residual: torch.Tensor | None = None
        self.head_input: torch.Tensor | None = None
        self.accumulated = 0.0
        self.should_compute = True
        self.calls = 0
        self.last_step: int | None = None
        self.consecutive_skips = 0


def _hidden_states_arg(args: tuple, kwargs: dict) -> torch.Tensor:
    # WanTransformerBlock.forward(hidden_states, encoder_hidden_states, temb, rotary_emb)
    return args[0] if args else kwargs["hidden_states"]


class _EmbedderHook(ModelHook):
    """On `condition_embedder`: keeps the modulated input of the current call in the state."""

    _is_stateful = True

    def __init__(self, manager: StateManager, config: TeaCacheConfig) -> None:
        super().__init__()
        self.manager = manager
        self.index = 0 if config.modulated_input == "temb" else 1

    def post_forward(self, module: torch.nn.Module, output):
        # WanTimeTextImageEmbedding returns (temb, timestep_proj, text, image).
        _ensure_context(self.manager)
        self.manager.get_state().modulated = output[self.index]
        return output

    def reset_state(self, module: torch.nn.Module) -> torch.nn.Module:
        return module


def _ensure_context(manager: StateManager) -> None:
    """Give a transformer called outside any cache_context one shared "default" context."""
    if manager._context is None:  # noqa: SLF001 - diffusers' own caches do the same
        if not getattr(manager, "_echoel_warned", False):
            logger.warning("TeaCache: transformer called outside cache_context; cond and uncond will share state")
            manager._echoel_warned = True
        manager.set_context(CacheContext("default") if CacheContext is not None else "default")


class _HeadHook(ModelHook):
    """On the first block: decides compute or skip; on skip returns input plus cached residual."""

    _is_stateful = True

    def __init__(self, manager: StateManager, config: TeaCacheConfig, stats: TeaCacheStats, is_tail: bool) -> None:
        super().__init__()
        self.manager = manager
        self.config = config
        self.stats = stats
        self.is_tail = is_tail

    def new_forward(self, module: torch.nn.Module, *args, **kwargs):
        hidden = _hidden_states_arg(args, kwargs)
        _ensure_context(self.manager)
        state: _TeaCacheState = self.manager.get_state()
        compute = self._decide(state, hidden)
        state.should_compute = compute
        if not compute:
            return (hidden.float() + state.residual.float()).type_as(hidden)
        state.head_input = hidden
        output = self.fn_ref.original_forward(*args, **kwargs)
        if self.is_tail:
            state.residual = output - hidden
            state.head_input = None
        return output

    @torch.compiler.disable
    def _decide(self, state: _TeaCacheState, hidden: torch.Tensor) -> bool:
        context = self.manager._context  # noqa: SLF001
        name = getattr(context, "name", context)
        step = getattr(context, "step_index", None)
        total = getattr(context, "num_inference_steps", None) or self.config.num_inference_steps
        modulated = state.modulated
        if modulated is None:
            raise RuntimeError("TeaCache: the condition embedder did not run before the first block")
        if step is None:
            step = state.calls
        elif state.last_step is not None and step <= state.last_step:
            state.reset()  # a new denoising run started without a reset (e.g. after an exception)
        state.modulated = None
        state.calls += 1
        state.last_step = step
        rel_l1 = None
        previous = state.previous_modulated
        if previous is not None and previous.shape == modulated.shape:
            prev = previous.float()
            rel_l1 = ((modulated.float() - prev).abs().mean() / prev.abs().mean().clamp_min(1e-12)).item()
        state.previous_modulated = modulated

        forced = (
            step < self.config.warmup_steps
            or (self.config.compute_last_step and total is not None and step >= total - 1)
            or rel_l1 is None
            or state.residual is None
            or state.residual.shape != hidden.shape
        )
        rescaled = None
        if forced:
            compute = True
            state.accumulated = 0.0
        else:
            rescaled = self.config.rescale(rel_l1)
            state.accumulated += rescaled
            under = self.config.threshold > 0 and state.accumulated < self.config.threshold
            capped = (self.config.max_consecutive_skips is not None
                      and state.consecutive_skips >= self.config.max_consecutive_skips)
            compute = not under or capped
            if compute:
                state.accumulated = 0.0
        state.consecutive_skips = 0 if compute else state.consecutive_skips + 1
        if compute:
            self.stats.computed += 1
        else:
            self.stats.skipped += 1
        self.stats.records.append(TeaCacheStep(str(name), int(step), compute, forced, rel_l1, rescaled,
                                               state.accumulated))
        return compute

    def reset_state(self, module: torch.nn.Module) -> torch.nn.Module:
        self.manager.reset()
        self.stats.end_run()
        return module


class _BlockHook(ModelHook):
    """On the other blocks: pass-through while skipping; the last block stores the residual."""

    def __init__(self, manager: StateManager, is_tail: bool) -> None:
        super().__init__()
        self.manager = manager
        self.is_tail = is_tail

    def new_forward(self, module: torch.nn.Module, *args, **kwargs):
        state: _TeaCacheState = self.manager.get_state()
        if not state.should_compute:
            return _hidden_states_arg(args, kwargs)
        output = self.fn_ref.original_forward(*args, **kwargs)
        if self.is_tail:
            state.residual = output - state.head_input
            state.head_input = None
        return output


def apply_teacache(transformer: torch.nn.Module, config: TeaCacheConfig) -> TeaCacheStats:
    """Install TeaCache on a diffusers WanTransformer3DModel; returns its live statistics.

    Replaces a TeaCache installed earlier. Refuses a transformer on which a diffusers cache
    (`enable_cache`) is active, since both would skip the same blocks. Call from the thread that
    owns the pipeline, between generations.
    """
    blocks = getattr(transformer, "blocks", None)
    embedder = getattr(transformer, "condition_embedder", None)
    if not isinstance(blocks, torch.nn.ModuleList) or len(blocks) == 0 or embedder is None:
        raise TypeError(f"TeaCache needs a Wan transformer with `blocks` and `condition_embedder`, got {type(transformer).__name__}")
    if getattr(transformer, "is_cache_enabled", False):
        raise ValueError("a diffusers cache is enabled on this transformer; call transformer.disable_cache() first")
    remove_teacache(transformer)
    manager = StateManager(_TeaCacheState, (), {})
    stats = TeaCacheStats()
    HookRegistry.check_if_exists_or_initialize(transformer)
    HookRegistry.check_if_exists_or_initialize(embedder).register_hook(_EmbedderHook(manager, config), _EMBEDDER_HOOK)
    last = len(blocks) - 1
    HookRegistry.check_if_exists_or_initialize(blocks[0]).register_hook(
        _HeadHook(manager, config, stats, is_tail=last == 0), _HEAD_HOOK)
    for index in range(1, len(blocks)):
        HookRegistry.check_if_exists_or_initialize(blocks[index]).register_hook(
            _BlockHook(manager, is_tail=index == last), _BLOCK_HOOK)
    _invalidate_registry_cache(transformer)
    return stats


def remove_teacache(transformer: torch.nn.Module) -> None:
    """Remove TeaCache hooks from `transformer` (no-op when none are installed)."""
    registry = HookRegistry.check_if_exists_or_initialize(transformer)
    for name in (_HEAD_HOOK, _BLOCK_HOOK, _EMBEDDER_HOOK):
        registry.remove_hook(name, recurse=True)
    _invalidate_registry_cache(transformer)


def teacache_stats(transformer: torch.nn.Module) -> TeaCacheStats | None:
    """The statistics of the TeaCache installed on `transformer`, or None."""
    blocks = getattr(transformer, "blocks", None)
    if not blocks:
        return None
    registry = getattr(blocks[0], "_diffusers_hook", None)
    hook = registry.get_hook(_HEAD_HOOK) if registry is not None else None
    return hook.stats if hook is not None else None


def reset_teacache(transformer: torch.nn.Module) -> None:
    """Forget cached residuals and close the current run (e.g. after a cancelled generation)."""
    blocks = getattr(transformer, "blocks", None)
    registry = getattr(blocks[0], "_diffusers_hook", None) if blocks else None
    hook = registry.get_hook(_HEAD_HOOK) if registry is not None else None
    if hook is not None:
        hook.reset_state(blocks[0])


def _invalidate_registry_cache(transformer: torch.nn.Module) -> None:
    # Diffusers caches the list of child hook registries that receive the cache context; adding or
    # removing hooks must clear it or the new hooks never learn "cond" from "uncond".
    registry = HookRegistry.check_if_exists_or_initialize(transformer)
    invalidate = getattr(registry, "invalidate_child_registries_cache", None)
    if invalidate is not None:
        invalidate()
