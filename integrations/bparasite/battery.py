"""Battery charge of a b-parasite, which reports only its CR2032 cell voltage."""

from __future__ import annotations

# The discharge curve the b-parasite firmware itself uses for its battery percentage
# (rbaron/b-parasite, code/nrf-connect/prstlib/src/adc.c, `set_battery_percent`): a CR2032
# under the board's load, linear between these points, sorted high to low.
BATTERY_CURVE = ((3.00, 100.0), (2.90, 42.0), (2.74, 18.0), (2.44, 6.0), (2.01, 0.0))
