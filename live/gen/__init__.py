"""The generative layer: Wan video pipelines through diffusers, TeaCache, style morphs.

Importing this package never imports torch: the engine core runs without the optional extra
`gen`. Modules that need torch (`live.gen.pipelines.wan`, `live.gen.teacache`, `live.gen.style`,
`live.gen.ranking`) check for it and raise `MissingExtraError` naming `pip install 'echoel-live[gen]'`.
"""

from live.gen.errors import (
    CalibrationError,
    GenError,
    GenerationCancelled,
    MissingExtraError,
    ModelLoadError,
    RequestError,
)

__all__ = [
    "CalibrationError",
    "GenError",
    "GenerationCancelled",
    "MissingExtraError",
    "ModelLoadError",
    "RequestError",
]
