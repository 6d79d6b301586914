"""``python -m fraga``."""

import sys

from fraga.cli.main import main

sys.exit(main())
