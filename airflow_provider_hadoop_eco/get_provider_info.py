"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

Airflow 3.2+ builds the connection form from ``conn-fields`` and ``ui-field-behaviour`` here, without
importing the hook. Keep this module free of imports: every Airflow process reads it.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_hadoop_eco import __version__
from airflow_provider_hadoop_eco.defaults import CONN_TYPE, DEFAULT_REGION, HOOK_NAME, REGIONS

INTEGRATION = HOOK_NAME
HOOK_CLASS = "airflow_provider_hadoop_eco.hooks.hadoop_eco.HadoopEcoHook"

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "login": "Access Key ID",
        "password": "Secret Access Key",
        "host": "API Base URL (optional)",
    },
    "placeholders": {
        "login": "IAM access key ID (sent as Credential-ID)",
        "password": "IAM secret access key (sent as Credential-Secret)",
        "host": "(optional) the region's API, e.g. https://hadoop-eco.kr-central-2.kakaocloud.com",
        "extra": '{"api_key": "<the cluster\'s Open API key>"}',
    },
}

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "api_key": {
        "label": "Hadoop Eco Open API Key",
        "description": "The Open API key issued for one cluster in the console (sent as Hadoop-Eco-Api-Key). "
        "Keys are per cluster: create one connection per cluster.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "region": {
        "label": "Region",
        "description": "kr-central-1 (default, the /hadoop-eco/v1 API) or kr-central-2 (the /v2/hadoop-eco "
        "API). "
        "Sets the API host and paths; an explicit API Base URL still wins for the host.",
        "schema": {"type": ["string", "null"], "enum": [*REGIONS, None], "default": DEFAULT_REGION},
    },
    "cluster_id": {
        "label": "Cluster ID (optional)",
        "description": "Used by 'Test' to check the Open API key against this cluster. Tasks name their "
        "cluster themselves.",
        "schema": {"type": ["string", "null"]},
    },
    "allow_insecure_http": {
        "label": "Allow plain http",
        "description": "Send credentials over http to a host other than localhost. Leave off.",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
    "verify": {
        "label": "TLS verification",
        "description": "true (default: certifi's CA bundle), false, or the path of a CA bundle file that "
        "exists on every worker and triggerer (for example a TLS-inspecting proxy's CA).",
        "schema": {"type": ["string", "null"]},
    },
    "proxies": {
        "label": "Proxies (optional)",
        "description": 'HTTP(S) proxy per scheme, e.g. {"https": "http://proxy.internal:3128"}. The '
        "environment's proxy variables are ignored unless 'Use environment proxies' is on.",
        "schema": {"type": ["string", "null"]},
    },
    "trust_env": {
        "label": "Use environment proxies",
        "description": "Also take proxies from HTTPS_PROXY/HTTP_PROXY (off: credentials never go to a proxy "
        "that the connection does not name).",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
    "create_path": {
        "label": "Create path (optional)",
        "description": "Overrides the region's create path, e.g. /v2/hadoop-eco/clusters/{cluster_id}.",
        "schema": {"type": ["string", "null"]},
    },
    "status_path": {
        "label": "Status path (optional)",
        "description": "Overrides the region's status path; must contain {cluster_id} and {request_id}.",
        "schema": {"type": ["string", "null"]},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata for Airflow's providers manager."""
    return {
        "package-name": "airflow-provider-hadoop-eco",
        "name": "Kakao Cloud Hadoop Eco",
        "description": "Re-run Hive and Spark jobs of Kakao Cloud Hadoop Eco job clusters and wait for "
        "them with a deferrable sensor.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://docs.kakaocloud.com/service/analytics/hadoop-eco",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_hadoop_eco.hooks.hadoop_eco"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_hadoop_eco.operators.hadoop_eco"],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_hadoop_eco.sensors.hadoop_eco"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_hadoop_eco.triggers.hadoop_eco"],
            }
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": HOOK_CLASS,
                "hook-name": HOOK_NAME,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
        "extra-links": ["airflow_provider_hadoop_eco.links.hadoop_eco.HadoopEcoClusterLink"],
    }
