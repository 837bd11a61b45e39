"""`python -m live` runs the `echoel` command line."""

import sys

from live.cli import main

sys.exit(main())
