"""Who is at the other end of the current request, for audit events recorded deep in a service.

Set by the request middleware for every HTTP request and WebSocket; services record events
without threading the request through (a job's events have none: no one is connected).
"""

from __future__ import annotations

from contextvars import ContextVar

# The peer address (proxies are not trusted for this, as for rate limits and sessions).
client_ip_var: ContextVar[str | None] = ContextVar("voxhub_client_ip", default=None)
