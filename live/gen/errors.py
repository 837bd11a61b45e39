"""Errors of the generative layer that a user can act on.

Each one carries a message that names the file, key or value at fault and what is allowed; the
CLI prints them without a traceback. Any thread.
"""

from __future__ import annotations

GEN_EXTRA_HINT = "pip install 'echoel-live[gen]'"


class GenError(Exception):
    """Base class of every user-facing error in `live.gen`."""


class MissingExtraError(GenError):
    """A package of the optional extra `gen` (torch, diffusers, transformers) is not installed."""


class ModelLoadError(GenError):
    """A model directory is missing, incomplete or of a layout this engine does not know."""


class RequestError(GenError):
    """A generation request breaks a rule (size, frames, prompt, limits); the message says which."""


class CalibrationError(GenError):
    """TeaCache calibration data or a stored calibration file is unusable."""


class GenerationCancelled(GenError):
    """A generation was cancelled through its cancel event; `step` is the last step that ran."""

    def __init__(self, step: int, total: int) -> None:
        super().__init__(f"generation cancelled after step {step} of {total}")
        self.step = step
        self.total = total
