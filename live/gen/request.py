"""Generation requests and the rules they must follow before any model runs.

`GenerationRequest` is what a caller (CLI, scene generator, HTTP API) asks for; `validate_request`
checks it against the model layout and the device limits and raises `RequestError` with a message
that names the field, the value and what is allowed (nearest valid sizes and frame counts
included). Pure Python, no torch. Any thread.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from live.gen.errors import RequestError
from live.gen.layouts import ModelLayout
from live.gen.settings import DeviceLimits

#: Longest prompt or style text accepted, in characters (Wan's UMT5 reads 512 tokens).
MAX_PROMPT_CHARS = 2000
#: Most styles one morph may blend.
MAX_STYLES = 8
MAX_SEED = 2**63 - 1


@dataclass
class GenerationRequest:
    """One clip to generate.

    Attributes:
        prompt: the text prompt; may be None when `prompt_embeds` or `styles` stand in for it.
        negative_prompt: what to steer away from (used when guidance > 1).
        seed: seeds the initial noise; the same request and seed give the same clip.
        frames: number of frames, of the form 4k+1 (5, 9, 13, 17, ...).
        width, height: size in pixels, multiples of the layout's spatial multiple.
        steps: denoising steps, or None for the layout's default.
        guidance: classifier-free guidance, or None for the layout's default.
        guidance_2: guidance of the low-noise expert (Wan 2.2 A14B), or None for its default.
        init_image: an HxWx3 uint8 array, a PIL image or a path (image-to-video; e.g. a frame of
            the show for a visual feedback loop).
        styles: style texts to morph between (each is combined with the prompt).
        morph: position along the styles, 0 = first style, 1 = last.
        prompt_embeds: precomputed text-encoder output (a torch tensor, batch 1), instead of a prompt.
        negative_prompt_embeds: precomputed negative embeddings, used with `prompt_embeds`.
        max_sequence_length: tokens the text encoder reads; a longer prompt is an error, not cut.
        decode: False skips the VAE and returns the final latents instead of frames (benchmarks,
            latent-space feedback).
    """

    prompt: str | None = None
    negative_prompt: str = ""
    seed: int = 0
    frames: int = 17
    width: int = 480
    height: int = 272
    steps: int | None = None
    guidance: float | None = None
    guidance_2: float | None = None
    init_image: Any = None
    styles: tuple[str, ...] = ()
    morph: float = 0.0
    prompt_embeds: Any = None
    negative_prompt_embeds: Any = None
    max_sequence_length: int = 512
    decode: bool = True


def parse_size(text: str) -> tuple[int, int]:
    """Parse "WIDTHxHEIGHT" (e.g. "480x272") into (width, height); RequestError otherwise."""
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise RequestError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 480x272")
    width, height = (int(p) for p in parts)
    if width <= 0 or height <= 0:
        raise RequestError(f"size {text!r}: width and height must be positive")
    return width, height


def _nearest_multiples(value: int, multiple: int) -> str:
    low = max(multiple, value // multiple * multiple)
    high = low + multiple if low < value else low
    return str(low) if low == high else f"{low} or {high}"


def check_text(name: str, text: str) -> None:
    """Prompt content rules: a non-empty string of printable text up to MAX_PROMPT_CHARS."""
    if not isinstance(text, str):
        raise RequestError(f"{name} must be text, got {type(text).__name__}")
    if not text.strip():
        raise RequestError(f"{name} is empty; write what the clip should show")
    if len(text) > MAX_PROMPT_CHARS:
        raise RequestError(f"{name} is {len(text)} characters long; at most {MAX_PROMPT_CHARS} are allowed")
    for index, char in enumerate(text):
        if char in "\n\t":
            continue
        if unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
            raise RequestError(
                f"{name} contains a control or unassigned character U+{ord(char):04X} at position {index}; "
                "only printable text, newlines and tabs are allowed"
            )


def style_prompts(request: GenerationRequest) -> list[str]:
    """The texts the text encoder reads for each style: "PROMPT, STYLE", or the style alone."""
    if request.prompt:
        return [f"{request.prompt.strip()}, {style.strip()}" for style in request.styles]
    return [style.strip() for style in request.styles]


def validate_request(request: GenerationRequest, layout: ModelLayout, limits: DeviceLimits) -> None:
    """Raise RequestError if `request` breaks a rule of `layout` or `limits`. Any thread."""
    has_embeds = request.prompt_embeds is not None
    if request.prompt is None and not has_embeds and not request.styles:
        raise RequestError("a request needs a prompt, prompt embeddings or at least one style")
    if request.prompt is not None and has_embeds:
        raise RequestError("give either a prompt or prompt embeddings, not both")
    if request.prompt is not None:
        check_text("prompt", request.prompt)
    if request.negative_prompt:
        check_text("negative prompt", request.negative_prompt)
    if has_embeds and request.styles:
        raise RequestError("styles are encoded from text; they cannot be combined with prompt embeddings")
    if len(request.styles) > MAX_STYLES:
        raise RequestError(f"{len(request.styles)} styles given; at most {MAX_STYLES} can be morphed")
    for index, style in enumerate(request.styles):
        check_text(f"style {index + 1}", style)
    if not (isinstance(request.morph, (int, float)) and math.isfinite(request.morph) and 0.0 <= request.morph <= 1.0):
        raise RequestError(f"morph {request.morph!r} must be a number from 0 (first style) to 1 (last style)")

    if not isinstance(request.seed, int) or not 0 <= request.seed <= MAX_SEED:
        raise RequestError(f"seed {request.seed!r} must be an integer from 0 to {MAX_SEED}")

    factor = layout.temporal_factor
    frames = request.frames
    if not isinstance(frames, int) or frames < factor + 1 or (frames - 1) % factor:
        if isinstance(frames, int) and frames > factor + 1:
            low = (frames - 1) // factor * factor + 1
            hint = f"; nearest: {low} or {low + factor}"
        else:
            hint = f"; the smallest is {factor + 1}"
        raise RequestError(
            f"frames {frames!r} must be of the form {factor}k+1 ({', '.join(str(factor * k + 1) for k in range(1, 5))}, ...){hint}"
        )
    if frames > limits.max_frames:
        raise RequestError(f"frames {frames} is over this device's limit of {limits.max_frames}")

    multiple = layout.spatial_multiple
    for name, value in (("width", request.width), ("height", request.height)):
        if not isinstance(value, int) or value <= 0:
            raise RequestError(f"{name} {value!r} must be a positive integer")
        if value % multiple:
            raise RequestError(
                f"{name} {value} must be a multiple of {multiple} for {layout.name} "
                f"(VAE spatial factor times patch size); nearest: {_nearest_multiples(value, multiple)}"
            )
    if request.width * request.height > limits.max_pixels:
        raise RequestError(
            f"size {request.width}x{request.height} is {request.width * request.height} pixels, over this "
            f"device's limit of {limits.max_pixels}"
        )

    if request.steps is not None:
        if not isinstance(request.steps, int) or not 1 <= request.steps <= limits.max_steps:
            raise RequestError(f"steps {request.steps!r} must be an integer from 1 to {limits.max_steps}")
    for name, value in (("guidance", request.guidance), ("guidance_2", request.guidance_2)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 30.0):
            raise RequestError(f"{name} {value!r} must be a number from 0 to 30 (1 or less turns guidance off)")
    if request.guidance_2 is not None and not layout.two_experts:
        raise RequestError(f"guidance_2 applies to the two-expert Wan 2.2 A14B models, not {layout.name}")

    if request.init_image is not None and not layout.accepts_image:
        raise RequestError(f"{layout.name} is text-to-video and takes no init image; use an I2V or TI2V model")
    if request.init_image is None and layout.requires_image:
        raise RequestError(f"{layout.name} is image-to-video and needs an init image (--image PATH)")
    if not 16 <= request.max_sequence_length <= 512:
        raise RequestError(f"max_sequence_length {request.max_sequence_length} must be from 16 to 512 tokens")
