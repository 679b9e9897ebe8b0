"""``python -m digest``: the same command as the ``digest`` script."""

import sys

from digest.cli import main

sys.exit(main())
