"""``python -m graphnets``: the same command line as the ``graphnets`` script."""

import sys

from .cli import main

sys.exit(main())
