"""Entry script of the frozen app: the same ``azassist`` command as the installed gui-script.

A separate file (not ``azassist/__main__.py``) so the bundle imports ``azassist`` as a package,
and so multiprocessing children of a frozen app do not re-run the CLI.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from azassist.__main__ import main

    sys.exit(main())
