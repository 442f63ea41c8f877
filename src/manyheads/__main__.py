"""``python -m manyheads``: the command line (what ``torchrun -m manyheads`` starts)."""

import sys

from manyheads.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
