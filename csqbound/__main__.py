"""``python -m csqbound`` runs the command line."""

import sys

from csqbound.cli import main

sys.exit(main())
