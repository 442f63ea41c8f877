"""``python -m manyheads``: the command line (what ``torchrun -m manyheads`` starts)."""

import sys

from manyheads.cli.main import main

sys.exit(main())
