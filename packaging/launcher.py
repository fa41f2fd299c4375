"""Entry script of the frozen app: the same ``main`` as the ``gate-killswitch`` console script.

PyInstaller needs a script file; ``gui/__main__.py`` itself would put ``gui/`` on the module
path of the analysis, where its modules would shadow top-level ones of the same name.
"""

import sys

from gui.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
