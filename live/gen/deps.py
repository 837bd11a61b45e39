"""Checks for the optional extra `gen`, so the core engine imports without torch.

Everything that needs torch, diffusers or transformers calls `require_gen_extra()` first and gets a
`MissingExtraError` naming the install command instead of an ImportError deep in a stack. Any thread.
"""

from __future__ import annotations

import importlib.util

from live.gen.errors import GEN_EXTRA_HINT, MissingExtraError

#: The import names the extra provides, in the order they are checked.
GEN_MODULES = ("torch", "diffusers", "transformers")


def missing_gen_modules(modules: tuple[str, ...] = GEN_MODULES) -> list[str]:
    """Names in `modules` that cannot be imported here (without importing them)."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def require_gen_extra(what: str, modules: tuple[str, ...] = GEN_MODULES) -> None:
    """Raise MissingExtraError if any of `modules` is missing; `what` names the feature that needs them."""
    missing = missing_gen_modules(modules)
    if missing:
        raise MissingExtraError(
            f"{what} needs {', '.join(missing)} (the optional extra 'gen'); install it with: {GEN_EXTRA_HINT}"
        )
