"""``python -m benchmarks.system``: see :mod:`benchmarks.system.run`."""

import sys

from benchmarks.system.run import main

sys.exit(main())
