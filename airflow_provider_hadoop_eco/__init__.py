"""Apache Airflow provider for the Kakao Cloud Hadoop Eco job cluster API.

This module is imported by every Airflow process (provider discovery), so it must stay light:
no Airflow, HTTP client or emulator imports here.
"""

from __future__ import annotations

__version__ = "1.1.0"

__all__ = ["__version__"]
