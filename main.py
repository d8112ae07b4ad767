"""Start AVS Studio: `python main.py [PROJECT_DIR]` (no folder: the bundled sample project)."""

import sys

from avs_studio.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
