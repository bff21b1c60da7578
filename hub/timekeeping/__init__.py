"""Honest timestamps: the clock guard between the sources and the router, and its health.

`hub.timekeeping.guard` holds the guard, `hub.timekeeping.health` its health check, and
`hub.timekeeping.config` the `clock:` section.
"""

# hub.config.models imports this package's `config` module, which imports hub.config.types:
# loading hub.config first means importing any module here first never meets it half-built.
import hub.config  # noqa: F401
