"""``python -m airflow_provider_hadoop_eco.emulator``: same as the ``hadoop-eco-emulator`` command."""

from __future__ import annotations

import sys

from airflow_provider_hadoop_eco.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
