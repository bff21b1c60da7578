"""Battery charge of RuuviTags, which report only their cell voltage (formats 3 and 5)."""

from __future__ import annotations

# CR2477 lithium coin cell under the tag's light load: flat near 3.0 V for most of its
# life, then a knee. Percent by linear interpolation between these points.
BATTERY_CURVE = ((3.0, 100.0), (2.9, 80.0), (2.8, 60.0), (2.7, 35.0), (2.6, 15.0), (2.4, 0.0))
