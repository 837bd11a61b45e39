"""Registration of the audio capture sub-commands on the `echoel` parser.

`live.cli.build_parser` calls `add_parser(subparsers)`; each command's work lives in its own module
(`echoel devices` in `live.audio.devices`). Main thread.
"""

from __future__ import annotations

import argparse

from live.audio.devices import add_devices_parser


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the audio capture sub-commands (`devices`) to `subparsers`."""
    add_devices_parser(subparsers)
