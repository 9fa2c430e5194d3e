"""Names shared by the real-proxy tests and their fixtures."""

from __future__ import annotations

#: The emulator cluster every proxy test talks to (with the canary credentials of tests_support).
CLUSTER_ID = "c-proxy-1"
#: The user and password of the proxy that requires BasicAuth; the password is a canary too.
PROXY_USER = "hadoop-eco-proxy-user"
CANARY_PROXY_PASSWORD = "CANARY-PROXY-PW-5e0b7a"
