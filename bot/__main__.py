"""`python -m bot`."""

import sys

from bot.cli import main

# Guarded: chart workers (forkserver processes) import the main module and must not run it.
if __name__ == "__main__":
    sys.exit(main())
