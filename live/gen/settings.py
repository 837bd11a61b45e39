"""How a pipeline is loaded and run on a device: dtype, offload, VAE tiling, attention, compile.

`PipelineSettings` holds what the user asked for ("auto" where they did not choose);
`resolve_settings` turns it into concrete values with sane defaults per device, and
`DeviceLimits` caps what one request may ask of that device. Torch is imported only to look at the
available devices. Any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from live.gen.errors import RequestError

DTYPES = ("auto", "float32", "bfloat16", "float16")
OFFLOADS = ("auto", "none", "model", "sequential")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class PipelineSettings:
    """Loading and run settings of one Wan pipeline.

    Attributes:
        device: "auto", "cpu", "cuda", "cuda:N" or "mps".
        dtype: weights dtype of the transformer(s) and text encoder; "auto" picks bfloat16 on GPUs
            and float32 on CPU.
        vae_float32: keep the VAE in float32 (Wan's own recommendation; decoding in bf16 bands).
        offload: "none" keeps everything on the device; "model" moves whole models in and out
            (diffusers model CPU offload); "sequential" moves layer by layer (slowest, least memory);
            "auto" picks "model" on a GPU with under 24 GiB, else "none".
        vae_tiling: decode in spatial tiles (less memory at large sizes); None = auto (on for GPUs
            with under 24 GiB at sizes above 480p).
        vae_slicing: decode one video of a batch at a time.
        attention_backend: a diffusers attention backend name ("native", "flash", "sage", ...) or
            None for the default (PyTorch SDPA).
        compile: torch.compile the repeated transformer blocks (GPU only; the first run is slow).
    """

    device: str = "auto"
    dtype: str = "auto"
    vae_float32: bool = True
    offload: str = "auto"
    vae_tiling: bool | None = None
    vae_slicing: bool = False
    attention_backend: str | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise RequestError(f"dtype {self.dtype!r} is not allowed; choose one of {', '.join(DTYPES)}")
        if self.offload not in OFFLOADS:
            raise RequestError(f"offload {self.offload!r} is not allowed; choose one of {', '.join(OFFLOADS)}")
        base = self.device.split(":", 1)[0]
        if base not in DEVICES:
            raise RequestError(f"device {self.device!r} is not allowed; choose one of {', '.join(DEVICES)} (or cuda:N)")


@dataclass(frozen=True)
class DeviceLimits:
    """The largest request a device kind accepts (a guard against hour-long or out-of-memory runs)."""

    max_pixels: int
    max_frames: int
    max_steps: int


#: Limits per device kind. CPU: small previews only; GPUs: what the Wan checkpoints were trained for.
DEVICE_LIMITS = {
    "cpu": DeviceLimits(max_pixels=512 * 512, max_frames=33, max_steps=100),
    "mps": DeviceLimits(max_pixels=832 * 480, max_frames=81, max_steps=100),
    "cuda": DeviceLimits(max_pixels=1280 * 720, max_frames=121, max_steps=200),
}


def detect_device() -> str:
    """The best available device: "cuda", then "mps", else "cpu". Needs torch."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _gpu_memory_gib(device: str) -> float:
    import torch

    index = int(device.split(":", 1)[1]) if ":" in device else 0
    return torch.cuda.get_device_properties(index).total_memory / 2**30


def resolve_settings(settings: PipelineSettings) -> PipelineSettings:
    """Replace every "auto" by a concrete choice for the device it resolves to. Needs torch."""
    device = detect_device() if settings.device == "auto" else settings.device
    kind = device.split(":", 1)[0]
    dtype = settings.dtype
    if dtype == "auto":
        dtype = "float32" if kind == "cpu" else "bfloat16"
    offload = settings.offload
    vae_tiling = settings.vae_tiling
    if kind == "cuda":
        small_gpu = _gpu_memory_gib(device) < 24
        if offload == "auto":
            offload = "model" if small_gpu else "none"
        if vae_tiling is None:
            vae_tiling = small_gpu
    else:
        if offload == "auto":
            offload = "none"
        if vae_tiling is None:
            vae_tiling = False
    compile_ = settings.compile and kind == "cuda"
    return replace(settings, device=device, dtype=dtype, offload=offload, vae_tiling=vae_tiling, compile=compile_)


def limits_for(device: str) -> DeviceLimits:
    """The DeviceLimits of a concrete device string ("cpu", "cuda:1", ...)."""
    return DEVICE_LIMITS.get(device.split(":", 1)[0], DEVICE_LIMITS["cpu"])
