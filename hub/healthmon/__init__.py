"""The hub's health: checks of every core part and every component, evaluated on a schedule.

`hub.healthmon.checks` holds the checks, `hub.healthmon.monitor` evaluates them and tracks
changes, `hub.healthmon.component` runs the monitor in the hub and publishes HealthChanged.
"""

# hub.config.models imports this package's `config` module, which imports hub.config.types:
# loading hub.config first means importing any module here first never meets it half-built.
import hub.config  # noqa: F401
