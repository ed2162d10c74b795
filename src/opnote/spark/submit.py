"""The file ``spark-submit`` runs: ``spark-submit .../opnote/spark/submit.py INPUT OUTPUT [options]``.

Its arguments are those of ``opnote spark``. Importing this module does nothing; only running it
as a file does.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    # Run as a file, this folder is sys.path[0]: drop it so that no module here can shadow a
    # top-level one, and import the installed package (whose modules the workers import too).
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from opnote.cli import main as cli_main

    sys.argv = ["opnote", "spark", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
