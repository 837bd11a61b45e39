"""TeaCache calibration: fit the rescale polynomial for any model, size and step count.

The published polynomials fit four Wan 2.1 checkpoints only (Wan 2.2 has none; other weights
extrapolate badly). Calibration runs full (uncached) generations, records for every denoiser call
the modulated input (both the time embedding and the timestep projection) and the transformer
output, and fits, per expert, a polynomial that maps the relative L1 change of the input between
consecutive steps to that of the output:

    x_i = mean|m_i - m_{i-1}| / mean|m_{i-1}|,   y_i = mean|o_i - o_{i-1}| / mean|o_{i-1}|,   y ~ poly(x)

The result is stored with the model in `echoel_teacache.json` (one entry per size, frames and
steps), from where `teacache_configs` picks the nearest entry. Runs on the generation worker.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from live.gen.errors import CalibrationError
from live.gen.layouts import ModelLayout

CALIBRATION_FILE = "echoel_teacache.json"
CALIBRATION_SCHEMA = 1
DEFAULT_DEGREE = 4


def relative_l1(current, previous) -> float:
    """mean|current - previous| / mean|previous| of two tensors or arrays."""
    cur = np.asarray(current, dtype=np.float64)
    prev = np.asarray(previous, dtype=np.float64)
    denom = np.abs(prev).mean()
    return float(np.abs(cur - prev).mean() / max(denom, 1e-12))


def fit_rescale_polynomial(x: Sequence[float], y: Sequence[float], degree: int = DEFAULT_DEGREE) -> tuple[float, ...]:
    """Least-squares polynomial y ~ poly(x), highest power first (numpy.poly1d order).

    Raises CalibrationError if there are fewer distinct points than coefficients or values are
    not finite (e.g. a run with too few steps).
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise CalibrationError(f"calibration needs matching 1-D samples, got {xs.shape} and {ys.shape}")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise CalibrationError("calibration samples contain NaN or infinity (did the model produce NaN?)")
    if len(np.unique(np.round(xs, 12))) < degree + 1:
        raise CalibrationError(
            f"{len(xs)} samples with {len(np.unique(xs))} distinct input changes cannot fit a degree-{degree} "
            "polynomial; use more steps or more prompts"
        )
    # Fit on a scaled x for conditioning, then expand back to plain coefficients.
    scale = float(np.abs(xs).max()) or 1.0
    scaled = np.polyfit(xs / scale, ys, degree)
    powers = np.arange(degree, -1, -1)
    return tuple(float(c) for c in scaled / scale ** powers)


@dataclass
class ExpertSamples:
    """Consecutive-step changes of one expert: x (input change) per modulated input, y (output change)."""

    temb: list[float] = field(default_factory=list)
    timestep_proj: list[float] = field(default_factory=list)
    output: list[float] = field(default_factory=list)


@dataclass
class Calibration:
    """Fitted TeaCache polynomials of one model at one size, frame count and step count.

    `coefficients[expert][modulated_input]` is the polynomial (highest power first) for expert
    "transformer" (and "transformer_2" on A14B) and modulated input "temb" or "timestep_proj".
    """

    width: int
    height: int
    frames: int
    steps: int
    coefficients: dict[str, dict[str, tuple[float, ...]]]
    samples: int
    rms_error: dict[str, dict[str, float]]
    layout: str = ""
    model_hash: str = ""
    prompts: list[str] = field(default_factory=list)
    created: str = ""

    def to_json(self) -> dict:
        """A JSON-ready dict of this calibration."""
        data = asdict(self)
        data["coefficients"] = {e: {k: list(v) for k, v in m.items()} for e, m in self.coefficients.items()}
        return data

    @classmethod
    def from_json(cls, data: dict, where: str) -> "Calibration":
        """Parse one stored entry; CalibrationError names `where` and the bad key."""
        try:
            coeffs = {e: {k: tuple(float(c) for c in v) for k, v in m.items()} for e, m in data["coefficients"].items()}
            return cls(width=int(data["width"]), height=int(data["height"]), frames=int(data["frames"]),
                       steps=int(data["steps"]), coefficients=coeffs, samples=int(data.get("samples", 0)),
                       rms_error=data.get("rms_error", {}), layout=str(data.get("layout", "")),
                       model_hash=str(data.get("model_hash", "")), prompts=list(data.get("prompts", [])),
                       created=str(data.get("created", "")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CalibrationError(f"{where}: malformed calibration entry ({exc!r}); expected keys width, "
                                   "height, frames, steps, coefficients") from None


def fit_calibration(samples: dict[str, ExpertSamples], *, width: int, height: int, frames: int, steps: int,
                    degree: int = DEFAULT_DEGREE, **info) -> Calibration:
    """Fit every expert and modulated input from recorded samples."""
    coefficients: dict[str, dict[str, tuple[float, ...]]] = {}
    errors: dict[str, dict[str, float]] = {}
    count = 0
    for expert, data in samples.items():
        coefficients[expert], errors[expert] = {}, {}
        for kind in ("temb", "timestep_proj"):
            xs = getattr(data, kind)
            # An expert that sees few steps (the high-noise expert of A14B) supports a lower degree.
            distinct = len(np.unique(np.round(np.asarray(xs, dtype=np.float64), 12)))
            if distinct < 2:
                raise CalibrationError(f"{expert}: {distinct} distinct steps recorded; calibrate with more steps")
            coeffs = fit_rescale_polynomial(xs, data.output, min(degree, distinct - 1))
            predicted = np.polyval(np.asarray(coeffs), np.asarray(xs))
            coefficients[expert][kind] = coeffs
            errors[expert][kind] = float(np.sqrt(np.mean((predicted - np.asarray(data.output)) ** 2)))
        count += len(data.output)
    return Calibration(width=width, height=height, frames=frames, steps=steps, coefficients=coefficients,
                       samples=count, rms_error=errors,
                       created=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **info)


def calibration_path(model_dir: str | os.PathLike) -> Path:
    """Where the calibrations of a model are stored: <model_dir>/echoel_teacache.json."""
    return Path(model_dir) / CALIBRATION_FILE


def load_calibrations(path: str | os.PathLike) -> list[Calibration]:
    """Every calibration stored in a file (an empty list when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != CALIBRATION_SCHEMA or not isinstance(data.get("calibrations"), list):
        raise CalibrationError(f"{path}: expected {{\"schema\": {CALIBRATION_SCHEMA}, \"calibrations\": [...]}}")
    return [Calibration.from_json(entry, f"{path}: calibrations[{i}]") for i, entry in enumerate(data["calibrations"])]


def save_calibration(path: str | os.PathLike, calibration: Calibration) -> Path:
    """Add `calibration` to the file at `path`, replacing an entry of the same size, frames and steps."""
    path = Path(path)
    kept = [c for c in load_calibrations(path)
            if (c.width, c.height, c.frames, c.steps) != (calibration.width, calibration.height, calibration.frames, calibration.steps)]
    kept.append(calibration)
    doc = {"schema": CALIBRATION_SCHEMA, "calibrations": [c.to_json() for c in kept]}
    try:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot store the calibration ({exc}); pass --calibration-out FILE") from None
    return path


def nearest_calibration(calibrations: Iterable[Calibration], *, width: int, height: int, steps: int) -> Calibration | None:
    """The stored calibration closest to a request: same step count first, then nearest pixel area."""
    best, best_key = None, None
    for cal in calibrations:
        key = (abs(cal.steps - steps), abs(math.log((cal.width * cal.height) / (width * height))))
        if best_key is None or key < best_key:
            best, best_key = cal, key
    return best


def published_checkpoint_for(layout: ModelLayout, model_dir: str | os.PathLike, width: int, height: int) -> str | None:
    """The published coefficient set that fits a model, or None (see teacache.PUBLISHED_COEFFICIENTS).

    Wan 2.1 I2V 480P and 720P share an architecture: a directory name with "720" picks 720P,
    one with "480" 480P, otherwise the request's resolution decides.
    """
    key = layout.published_teacache_checkpoint
    if key == "wan2.1-i2v-14b-480p":
        name = Path(model_dir).name.lower()
        if "720" in name or ("480" not in name and width * height >= 1280 * 720 * 0.75):
            return "wan2.1-i2v-14b-720p"
    return key


def teacache_configs(model_dir: str | os.PathLike, layout: ModelLayout, *, threshold: float, retention: bool,
                     width: int, height: int, steps: int, calibration_file: str | os.PathLike | None = None):
    """TeaCache configs per expert for a request, and where their coefficients came from.

    Order: a calibration stored with the model (or in `calibration_file`), else the published
    Wan 2.1 set for the architecture. Raises CalibrationError naming the command to run otherwise.
    Returns (dict expert -> TeaCacheConfig, source text).
    """
    from live.gen.teacache import TeaCacheConfig

    path = Path(calibration_file) if calibration_file else calibration_path(model_dir)
    cal = nearest_calibration(load_calibrations(path), width=width, height=height, steps=steps)
    experts = ("transformer", "transformer_2") if layout.two_experts else ("transformer",)
    kind = "timestep_proj" if retention else "temb"
    if cal is not None:
        configs = {}
        for expert in experts:
            if expert not in cal.coefficients:
                raise CalibrationError(f"{path}: calibration has no coefficients for {expert}; recalibrate")
            configs[expert] = TeaCacheConfig.for_mode(cal.coefficients[expert][kind], retention=retention, threshold=threshold)
        return configs, f"calibration {path} ({cal.width}x{cal.height}, {cal.frames} frames, {cal.steps} steps)"
    checkpoint = published_checkpoint_for(layout, model_dir, width, height)
    if checkpoint is not None:
        config = TeaCacheConfig.published(checkpoint, retention=retention, threshold=threshold)
        return {expert: config for expert in experts}, f"published coefficients {checkpoint}"
    raise CalibrationError(
        f"no TeaCache coefficients for this {layout.name} model: none are published for it and {path} has no "
        f"calibration; run: echoel gen calibrate-teacache --model {model_dir}"
    )


class CalibrationRecorder:
    """Records (modulated inputs, output) of every denoiser call of a WanGenerator's experts.

    Installs hooks on each expert; `samples()` turns the recordings into consecutive-step changes
    per expert and cache context (cond and uncond are separate sequences). Use as a context
    manager around uncached generations.
    """

    def __init__(self, generator) -> None:
        self.generator = generator
        self._handles = []
        self._records: dict[str, list[tuple[str, int, float, float, float]]] = {}
        self._previous: dict[tuple[str, str], tuple] = {}

    def __enter__(self) -> "CalibrationRecorder":
        from live.gen.teacache import MODULATED_INPUTS  # noqa: F401 - import checks the extra

        for name, module in self.generator.experts.items():
            self._records[name] = []
            self._handles.append(module.condition_embedder.register_forward_hook(self._embedder_hook(name)))
            self._handles.append(module.register_forward_hook(self._output_hook(name, module)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _embedder_hook(self, name: str):
        def hook(module, args, output):
            self._pending = (output[0].detach().float().cpu(), output[1].detach().float().cpu())
        return hook

    def _output_hook(self, name: str, transformer):
        def hook(module, args, output):
            context = _current_context_name(transformer)
            out = output[0] if isinstance(output, tuple) else output.sample
            temb, proj = self._pending
            current = (temb, proj, out.detach().float().cpu())
            key = (name, context)
            previous = self._previous.get(key)
            if previous is not None:
                self._records[name].append((context, len(self._records[name]),
                                            relative_l1(current[0], previous[0]),
                                            relative_l1(current[1], previous[1]),
                                            relative_l1(current[2], previous[2])))
            self._previous[key] = current
        return hook

    def end_run(self) -> None:
        """Separate runs: the first call of the next run has no predecessor."""
        self._previous.clear()

    def samples(self) -> dict[str, ExpertSamples]:
        """Consecutive-step changes recorded so far, per expert."""
        result = {}
        for name, rows in self._records.items():
            data = ExpertSamples()
            for _, _, temb, proj, out in rows:
                data.temb.append(temb)
                data.timestep_proj.append(proj)
                data.output.append(out)
            result[name] = data
        return result


def _current_context_name(transformer) -> str:
    # The pipeline names each denoiser call ("cond" / "uncond") through cache_context; the name
    # lives in the hook registry's state managers, so read it from the first one that has it.
    registry = getattr(transformer, "_diffusers_hook", None)
    if registry is None:
        return "default"
    for child in (registry, *registry._get_child_registries()):  # noqa: SLF001
        for hook in child.hooks.values():
            for attr in vars(hook).values():
                context = getattr(attr, "_context", None)
                if context is not None:
                    return str(getattr(context, "name", context))
    return "default"


def calibrate_teacache(generator, *, prompts: Sequence[str], width: int, height: int, frames: int, steps: int,
                       seeds: Sequence[int] = (0,), guidance: float | None = None, negative_prompt: str = "",
                       degree: int = DEFAULT_DEGREE, on_run=None) -> Calibration:
    """Run uncached generations of `prompts` x `seeds` and fit the rescale polynomials.

    `on_run(index, total)` is called before each generation (for a progress display).
    """
    from live.gen.request import GenerationRequest

    if not prompts:
        raise CalibrationError("calibration needs at least one prompt")
    previous_cache = dict(generator.teacache)
    generator.set_teacache(None)
    total = len(prompts) * len(seeds)
    try:
        with _ContextProbe(generator), CalibrationRecorder(generator) as recorder:
            index = 0
            for prompt in prompts:
                for seed in seeds:
                    if on_run is not None:
                        on_run(index, total)
                    generator.generate(GenerationRequest(prompt=prompt, negative_prompt=negative_prompt, seed=seed,
                                                         frames=frames, width=width, height=height, steps=steps,
                                                         guidance=guidance))
                    recorder.end_run()
                    index += 1
            samples = recorder.samples()
    finally:
        generator.set_teacache(previous_cache or None)
    from live.gen.clip_output import model_fingerprint

    return fit_calibration(samples, width=width, height=height, frames=frames, steps=steps, degree=degree,
                           layout=generator.layout.name, model_hash=model_fingerprint(generator.model_path),
                           prompts=list(prompts))


class _ContextProbe:
    """A stateful no-op hook on each expert so the pipeline's cache_context name is readable."""

    def __init__(self, generator) -> None:
        self.generator = generator

    def __enter__(self):
        from diffusers.hooks import HookRegistry, ModelHook
        from diffusers.hooks.hooks import StateManager

        class _Probe(ModelHook):
            _is_stateful = True

            def __init__(self) -> None:
                super().__init__()
                self.manager = StateManager(dict, (), {})

            def reset_state(self, module):
                return module

        for module in self.generator.experts.values():
            registry = HookRegistry.check_if_exists_or_initialize(module)
            registry.register_hook(_Probe(), "echoel_context_probe")
            invalidate = getattr(registry, "invalidate_child_registries_cache", None)
            if invalidate is not None:
                invalidate()
        return self

    def __exit__(self, *exc) -> None:
        for module in self.generator.experts.values():
            module._diffusers_hook.remove_hook("echoel_context_probe", recurse=False)
