"""The Wan model layouts this engine loads, recognised from a diffusers model directory.

A layout fixes what a request may ask of a model: whether it takes or needs an init image, the
spatial multiple of the size (the VAE's spatial factor times the transformer's patch size: 16 for
Wan 2.1 and the A14B models, 32 for TI2V-5B), its frame rate, default steps and guidance, and
whether two experts split the schedule at a boundary ratio (Wan 2.2 A14B). Detection reads only
JSON files, so it needs no torch. Any thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from live.gen.errors import ModelLoadError

#: Layout names, in the order the docs list them.
LAYOUT_NAMES = ("wan2.1-t2v", "wan2.1-i2v", "wan2.2-t2v-a14b", "wan2.2-i2v-a14b", "wan2.2-ti2v-5b")

_T2V_CLASS = "WanPipeline"
_I2V_CLASS = "WanImageToVideoPipeline"


@dataclass(frozen=True)
class ModelLayout:
    """What one Wan checkpoint is and what it accepts.

    Attributes:
        name: one of LAYOUT_NAMES.
        pipeline_class: the diffusers pipeline class named in model_index.json.
        task: "t2v" (text only), "i2v" (needs an init image) or "ti2v" (image optional).
        spatial_multiple: width and height must be multiples of this.
        temporal_factor: frames must be of the form temporal_factor * k + 1.
        two_experts: True when `transformer_2` takes the low-noise steps (Wan 2.2 A14B).
        boundary_ratio: fraction of the training timesteps where the experts switch, or None.
        expand_timesteps: Wan 2.2 TI2V per-token timesteps.
        inner_dim: transformer width (heads times head size); 1536 is the 1.3B, 5120 the 14B.
        num_layers: transformer blocks per expert.
        fps: frame rate the checkpoint was trained for.
        default_steps: denoising steps used when a request names none.
        default_guidance: classifier-free guidance of the (first) expert.
        default_guidance_2: guidance of the low-noise expert, or None.
    """

    name: str
    pipeline_class: str
    task: str
    spatial_multiple: int
    temporal_factor: int
    two_experts: bool
    boundary_ratio: float | None
    expand_timesteps: bool
    inner_dim: int
    num_layers: int
    fps: int
    default_steps: int
    default_guidance: float
    default_guidance_2: float | None

    @property
    def accepts_image(self) -> bool:
        """Whether a request may carry an init image."""
        return self.task in ("i2v", "ti2v")

    @property
    def requires_image(self) -> bool:
        """Whether a request must carry an init image."""
        return self.task == "i2v"

    @property
    def published_teacache_checkpoint(self) -> str | None:
        """The checkpoint key of the published TeaCache coefficients that fit this architecture.

        Only Wan 2.1 has published sets; the two I2V sets share one architecture, so this returns
        the 480P key and callers choose 720P by resolution (see `live.gen.teacache`).
        """
        if self.name == "wan2.1-t2v":
            return {1536: "wan2.1-t2v-1.3b", 5120: "wan2.1-t2v-14b"}.get(self.inner_dim)
        if self.name == "wan2.1-i2v" and self.inner_dim == 5120:
            return "wan2.1-i2v-14b-480p"
        return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: missing; a diffusers Wan model directory has model_index.json, "
                             "transformer/config.json and vae/config.json") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: unreadable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def _component_present(index: dict, name: str) -> bool:
    entry = index.get(name)
    return isinstance(entry, list) and len(entry) == 2 and entry[0] is not None and entry[1] is not None


def detect_layout(model_dir: str | Path) -> ModelLayout:
    """Recognise the Wan layout of a local diffusers model directory. Any thread.

    Raises ModelLoadError naming the file and key when the directory is not a Wan pipeline this
    engine supports.
    """
    root = Path(model_dir)
    if not root.is_dir():
        raise ModelLoadError(f"{root}: not a directory; --model takes a local diffusers model directory")
    index_path = root / "model_index.json"
    index = _read_json(index_path)
    cls = index.get("_class_name")
    if cls not in (_T2V_CLASS, _I2V_CLASS):
        raise ModelLoadError(
            f"{index_path}: _class_name is {cls!r}; supported: {_T2V_CLASS}, {_I2V_CLASS} (Wan 2.1 / 2.2 layouts)"
        )
    transformer_name = "transformer" if _component_present(index, "transformer") else "transformer_2"
    if not _component_present(index, transformer_name):
        raise ModelLoadError(f"{index_path}: names no transformer component")
    tconf = _read_json(root / transformer_name / "config.json")
    vconf = _read_json(root / "vae" / "config.json")

    patch = tconf.get("patch_size", [1, 2, 2])
    if not (isinstance(patch, list) and len(patch) == 3 and all(isinstance(p, int) and p > 0 for p in patch)):
        raise ModelLoadError(f"{root / transformer_name / 'config.json'}: patch_size {patch!r} is not three positive ints")
    spatial_factor = int(vconf.get("scale_factor_spatial") or 8)
    temporal_factor = int(vconf.get("scale_factor_temporal") or 4)
    if patch[1] != patch[2]:
        raise ModelLoadError(f"{root / transformer_name / 'config.json'}: non-square patch {patch} is not supported")
    spatial_multiple = spatial_factor * patch[1]

    two_experts = _component_present(index, "transformer") and _component_present(index, "transformer_2")
    boundary = index.get("boundary_ratio")
    expand = bool(index.get("expand_timesteps", False))
    inner_dim = int(tconf.get("num_attention_heads", 40)) * int(tconf.get("attention_head_dim", 128))
    num_layers = int(tconf.get("num_layers", 40))

    if two_experts and boundary is None:
        raise ModelLoadError(f"{index_path}: two transformers but no boundary_ratio; Wan 2.2 A14B sets it (0.875 T2V, 0.9 I2V)")
    if expand:
        name, task, fps, steps, guidance, guidance_2 = "wan2.2-ti2v-5b", "ti2v", 24, 50, 5.0, None
    elif two_experts and cls == _T2V_CLASS:
        name, task, fps, steps, guidance, guidance_2 = "wan2.2-t2v-a14b", "t2v", 16, 40, 4.0, 3.0
    elif two_experts:
        name, task, fps, steps, guidance, guidance_2 = "wan2.2-i2v-a14b", "i2v", 16, 40, 3.5, 3.5
    elif cls == _T2V_CLASS:
        name, task, fps, steps, guidance, guidance_2 = "wan2.1-t2v", "t2v", 16, 50, 5.0, None
    else:
        if not _component_present(index, "image_encoder"):
            raise ModelLoadError(
                f"{index_path}: a single-expert {_I2V_CLASS} without image_encoder is not a known Wan layout "
                "(Wan 2.1 I2V has a CLIP image encoder; Wan 2.2 I2V A14B has transformer_2)"
            )
        name, task, fps, steps, guidance, guidance_2 = "wan2.1-i2v", "i2v", 16, 40, 5.0, None
    return ModelLayout(
        name=name,
        pipeline_class=cls,
        task=task,
        spatial_multiple=spatial_multiple,
        temporal_factor=temporal_factor,
        two_experts=two_experts,
        boundary_ratio=float(boundary) if boundary is not None else None,
        expand_timesteps=expand,
        inner_dim=inner_dim,
        num_layers=num_layers,
        fps=fps,
        default_steps=steps,
        default_guidance=guidance,
        default_guidance_2=guidance_2,
    )
