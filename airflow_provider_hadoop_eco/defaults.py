"""One source for the provider's constants and the small rules several modules share.

Imported at DAG parse time and by the provider info that every Airflow process reads: standard library
only, nothing that costs import time.
"""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

CONN_TYPE = "hadoop_eco"
HOOK_NAME = "Kakao Cloud Hadoop Eco"
DEFAULT_CONN_ID = "hadoop_eco_default"
#: Airflow 2 forms once saved extras under this prefix; they are still read.
LEGACY_EXTRA_PREFIX = f"extra__{CONN_TYPE}__"

#: Seconds between two status checks of a waiting task.
DEFAULT_POLL_INTERVAL = 30.0
#: Failed status checks in a row (each already retried by the hook) a wait survives.
DEFAULT_MAX_CONSECUTIVE_ERRORS = 5

#: The console page of a Hadoop Eco cluster (the create task's extra link and log line).
CONSOLE_CLUSTER_URL = "https://console.kakaocloud.com/hadoop-eco/clusters/{cluster_id}"

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_flag(value: Any) -> bool | None:
    """``True``/``False`` for a boolean or a yes/no word (any case), ``None`` for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def is_loopback(hostname: str) -> bool:
    """Whether ``hostname`` names this machine: ``localhost`` or a loopback IP address."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


class Region(NamedTuple):
    """Where a region's API lives and the paths of its dialect.

    :param name: the region's name, as in the connection's ``region`` extra.
    :param base_url: scheme and host of the API in that region.
    :param create_path: path of the create call, with ``{cluster_id}``.
    :param status_path: path of the status call, with ``{cluster_id}`` and ``{request_id}``.
    """

    name: str
    base_url: str
    create_path: str
    status_path: str


REGIONS: dict[str, Region] = {
    region.name: region
    for region in (
        # The seed's dialect, documented in the original reference page.
        Region(
            "kr-central-1",
            "https://hadoop-eco.kr-central-1.kakaoi.io",
            "/hadoop-eco/v1/cluster/{cluster_id}",
            "/hadoop-eco/v1/cluster/{cluster_id}/request-id/{request_id}",
        ),
        # KakaoCloud's current docs show the create call; the status path is inferred from v1's shape.
        Region(
            "kr-central-2",
            "https://hadoop-eco.kr-central-2.kakaocloud.com",
            "/v2/hadoop-eco/clusters/{cluster_id}",
            "/v2/hadoop-eco/clusters/{cluster_id}/request-id/{request_id}",
        ),
    )
}
DEFAULT_REGION = "kr-central-1"
