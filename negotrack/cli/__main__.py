"""``python -m negotrack.cli``: the same as the ``negotrack`` command."""

import sys

from negotrack.cli import main

sys.exit(main())
