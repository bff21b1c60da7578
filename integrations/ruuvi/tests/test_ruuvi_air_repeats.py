"""A Ruuvi Air sends each sample as format E1 and as format 6: it must be stored once."""

from __future__ import annotations

from hub.bus import EventBus
from hub.events import Reading, SensorSeen
from hub.integrations import IntegrationRegistry
from hub.router import Router
from hub.testing import advertisement
from integrations.ruuvi import INTEGRATION

# docs.ruuvi.com valid vectors; the E1 counter is set to 0x0000CD so that both frames carry
# the same sample (format 6 carries the counter's low byte, 0xCD).
E1 = "E1170C5668C79E0065007004BD11CA00C90A0213E0ACFFFFFF0000CD01FFFFFFFFFFCBB8334C884F"
DF6 = "06170C5668C79E007000C90501D9FFCD004C884F"
ADDRESS = "CB:B8:33:4C:88:4F"


def route(router: Router, payload: str) -> object:
    return router.route(advertisement(ADDRESS, manufacturer_data={0x0499: bytes.fromhex(payload)}))


def test_format_6_after_e1_of_the_same_sample_is_a_repeat() -> None:
    router = Router(IntegrationRegistry([INTEGRATION]), EventBus())
    first = route(router, E1)
    assert isinstance(first, Reading)
    assert first.format == "E1"
    assert first.measurements["measurement_sequence"] == 0xCD
    second = route(router, DF6)
    assert isinstance(second, SensorSeen)
    assert second.repeat


def test_the_next_sample_in_format_6_is_new() -> None:
    router = Router(IntegrationRegistry([INTEGRATION]), EventBus())
    assert isinstance(route(router, E1), Reading)
    assert isinstance(route(router, DF6.replace("FFCD00", "FFCE00")), Reading)
