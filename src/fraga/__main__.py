"""``python -m fraga``."""
import sys

from fraga.cli import main

sys.exit(main())
