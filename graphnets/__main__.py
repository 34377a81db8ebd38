"""``python -m graphnets``: the same command line as the ``graphnets`` script."""

import sys

from .cli import main

if __name__ == "__main__":  # not when imported, e.g. by pytest's doctest collection
    sys.exit(main())
