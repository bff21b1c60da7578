"""The HTTP API: /healthz, /metrics (Prometheus) and a small JSON API under /api.

The component lives in `hub.http.server`; this package's modules import aiohttp only
where they serve, so loading the config does not.
"""

# hub.config.models imports this package's `config` module, which imports hub.config.types:
# loading hub.config first means importing any module here first never meets it half-built.
import hub.config  # noqa: F401
