"""``python -m pytest_pruneenergy`` runs the ``pruneenergy`` command with this interpreter."""

import sys

from .cli import main

sys.exit(main())
