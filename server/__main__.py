"""``python -m llmaas.server`` = ``llmaas serve``."""

import sys

from llmaas.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
