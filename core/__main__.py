"""`python -m core split|estimate|train|model ...`"""

import sys

from core.cli import main

sys.exit(main())
