"""``python -m nsml``: the same command as the ``nsml`` console script."""

import sys

from nsml.cli import main

sys.exit(main())
