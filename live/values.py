"""How configuration values are checked and named in error messages, shared by every file format.

Scenes, set lists, mapping files, the config file, transforms and timelines all say what they
got in the same words ("got a string ('high')", "got an integer (3)"), so a user reading two
errors from two files sees the same wording. No imports from the rest of the package, so any
module can use it without an import cycle. Any thread.
"""

from __future__ import annotations

import math
from typing import Any


def describe_value(value: Any) -> str:
    """Name a TOML value's type for messages, with a preview: "a string ('high')". Any thread."""
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        text = str(value)
        return f"an integer ({text if len(text) <= 24 else text[:20] + '...'})"
    if isinstance(value, float):
        return f"a float ({value!r})"
    if isinstance(value, str):
        preview = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({preview!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a date/time ({value})"


def is_finite_number(value: Any) -> bool:
    """True for an int or float (not a bool) that converts to a finite float. Any thread."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # integers beyond the float range
        return False
