"""A deterministic synthetic world of BLE sensors for the soak run.

`World(sensors=300, seed=1, start=...)` makes a mix of every decoder family in named groups
(`living-012`, `freezer-003`, `greenhouse-017`, `lossy-021`, `silent-004`, `constant-002`,
`dual-008`), each sensor with a realistic advertisement interval, values that drift with
the day plus noise, a declining battery, and its own quirks: freezers defrost past -15 °C a
few times a day, silent sensors stop transmitting for 30-90 minutes two or three times a
day, constant sensors send the same bytes all run long, lossy sensors lose half their
advertisements on air, RuuviTag counters wrap at 65535 and restart from 0 on a reboot, and
dual sensors are heard by both receivers. `emissions(until)` plays the world forward in
time order, one heap of next transmission times, with every advertisement as the JSON line
a receiver would forward and the exact measurements the hub must store from it.

Everything is drawn from `random.Random(seed)`, so a seed gives the same world and the same
emissions however `emissions` is called (in one go or in slices).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from soak.encoders import FAMILIES, AdvertisementRecordFields, Family, garbage

DAY_S = 86_400.0
# 2026-11-23 00:00:00 UTC: a fixed default, so a seed alone gives the same world.
DEFAULT_START = 1_795_392_000.0
GROUPS = ("living", "freezer", "greenhouse", "lossy", "silent", "constant", "dual")
LOCATIONS = {
    "living": "house",
    "freezer": "cold room",
    "greenhouse": "greenhouse",
    "lossy": "garden",
    "silent": "shed",
    "constant": "cellar",
    "dual": "hall",
}
RECEIVERS_ONE: tuple[int, ...] = (0,)
# Dual sensors are heard by both receivers; lossy ones by the second only.
RECEIVERS_OF: dict[str, tuple[int, ...]] = {"dual": (0, 1), "lossy": (1,)}
LOSSY_LOSS = 0.5
# Silent sensors advertise on a fixed interval, so that a rule can say "silent after 2.25
# intervals" and a real silence fires within three.
SILENT_INTERVAL_S = 60.0
SILENT_STALE_FACTOR = 2.25
GENEROUS_STALE_S = 30 * 60.0
FREEZER_LIMIT_C = -15.0
BATTERY_LOW = 15.0
# Advertisement intervals vary this much (a radio's clock and scheduling).
_JITTER = 0.02

# Families that can watch a freezer (temperature in every measurement, down to -25 °C).
FREEZER_FAMILIES = (
    "ruuvi_df5",
    "inkbird_ibs_th2_probe",
    "govee_h5074",
    "thermobeacon",
    "bthome",
    "xiaomi_pvvx",
)
# Families for sensors that go silent: no counter small enough to come round during a
# silence (the hub remembers the last 16 sequences of a sensor).
SILENT_FAMILIES = (
    "ruuvi_df5",
    "bthome_encrypted",
    "govee_h5075",
    "inkbird_ibs_th",
    "thermobeacon",
    "sensirion_sht4x",
    "qingping_cgp1w",
    "bluemaestro_thpd",
    "switchbot_meter",
    "govee_h5074",
)
REBOOT_GROUPS = ("living", "greenhouse", "dual")
CONSTANT_FAMILIES = ("ruuvi_df5", "govee_h5075", "xiaomi_pvvx", "inkbird_ibs_th")
# Families whose battery % comes straight from the device (a decline crosses 15 % exactly).
DIRECT_BATTERY_FAMILIES = ("bthome", "xiaomi_pvvx", "govee_h5075", "inkbird_ibs_th", "aranet2")
# How often each family is drawn for the ordinary groups (popular devices more often).
FAMILY_WEIGHTS = {"ruuvi_df5": 2, "xiaomi_pvvx": 2, "govee_h5075": 2}
# Crossings of 15 % battery after the start (for as many sensors as the world has room for).
BATTERY_CROSSINGS_S = (600.0, 3 * 3600.0, 9 * 3600.0, 16 * 3600.0)


@dataclass(frozen=True, slots=True)
class Emission:
    """One advertisement a sensor transmits, and who hears it.

    `line` is the contract-1 record without `ts` (the receiver stamps it). Repeats of one
    payload share `measurement`; `values` are exactly the measurements the hub must store
    from it (with the derived dew point). For a sensor whose format has a counter
    (`SimSensor.has_sequence`) the hub makes one reading per measurement; otherwise every
    advertisement heard is a reading of the same values. Malformed advertisements have
    measurement -1 and no values.
    """

    sim_ts: float  # when the sensor transmits (simulated epoch seconds)
    address: str
    receivers: tuple[int, ...]  # who hears it after radio loss: () lost, (0,), (1,), (0, 1)
    line: bytes
    measurement: int
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class SimSensor:
    """One simulated sensor: what it is, how often it speaks, and its quirks."""

    address: str
    name: str
    family: str
    model: str
    interval_s: float  # advertisement interval
    measurement_interval_s: float
    loss: float  # probability an advertisement is lost on air (per receiver)
    receivers: tuple[int, ...]  # (0,), (1,) or (0, 1)
    has_sequence: bool  # the format carries a counter the hub uses for repeats
    constant: bool
    silent: tuple[tuple[float, float], ...]  # [start, end) windows without transmissions
    group: str = ""
    location: str = ""
    integration: str = ""
    bindkey: str | None = None  # hex, for encrypted formats
    rssi: int = -70
    reboots: tuple[float, ...] = ()  # counter resets to 0 (RuuviTag)
    battery_crossing: float | None = None  # when its battery falls below 15 %


@dataclass(slots=True)
class _Climate:
    """How one sensor's values move: a daily sine, a slow trend, noise."""

    temperature: float
    temperature_swing: float
    humidity: float
    humidity_swing: float
    phase: float  # seconds into the day of the warmest moment
    pressure: float
    co2: float
    pm: float
    moisture: float
    noise_t: float = 0.03
    noise_h: float = 0.2
    # Freezer defrosts: (start, plateau seconds, peak °C), in time order.
    defrosts: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass(slots=True)
class _Quirks:
    """The quirks only a few sensors get, handed out while the world is built."""

    crossings: list[float]  # seconds after the start at which a battery falls below 15 %
    reboots_left: int
    reboots_given: int = 0


@dataclass(slots=True)
class _State:
    """What the generator keeps per sensor between emissions."""

    sensor: SimSensor
    family: Family
    key: bytes | None
    climate: _Climate
    repeats: int
    counter: int  # the device's own counter (wraps, resets)
    battery0: float  # battery % at the start
    battery_rate: float  # % per day
    measurement: int = -1
    left: int = 0  # advertisements left for the current measurement
    line: bytes = b""
    values: Mapping[str, float] = field(default_factory=dict)
    previous: AdvertisementRecordFields | None = None
    movement: int = 0
    window: int = 0  # index of the next silent window
    reboot: int = 0  # index of the next reboot
    defrost: int = 0  # index of the current or next defrost


class World:
    """See the module docstring."""

    def __init__(
        self,
        sensors: int = 300,
        seed: int = 1,
        start: float = DEFAULT_START,
        *,
        days: float = 31.0,
    ) -> None:
        if sensors < len(GROUPS):
            raise ValueError(f"a world needs at least {len(GROUPS)} sensors (one per group)")
        self.seed = seed
        self.start = start
        self.horizon = start + days * DAY_S
        self._rng = random.Random(seed)
        self._states: list[_State] = []
        self._build(sensors)
        self.sensors: list[SimSensor] = [state.sensor for state in self._states]
        self._by_address = {s.sensor.address: s for s in self._states}
        # Next transmission per sensor; ties go to the lower index, so the order is fixed.
        self._heap: list[tuple[float, int]] = [
            (start + self._rng.uniform(0.0, s.sensor.interval_s), i)
            for i, s in enumerate(self._states)
        ]
        heapq.heapify(self._heap)
        self.emitted = 0

    # -- building ------------------------------------------------------------------------

    def _build(self, total: int) -> None:
        counts = _group_counts(total)
        deck = _Deck(self._rng)
        plan = [
            (group, number, _family_for(group, number, deck))
            for group in GROUPS
            for number in range(counts[group])
        ]
        quirks = _Quirks(
            crossings=list(BATTERY_CROSSINGS_S[: max(1, total // 75)]),
            reboots_left=max(1, total // 100),
        )
        used: set[str] = set()
        for group, number, family_name in plan:
            self._states.append(self._sensor(group, number, FAMILIES[family_name], quirks, used))

    def _sensor(
        self, group: str, number: int, family: Family, quirks: _Quirks, used: set[str]
    ) -> _State:
        """The `number`th sensor of `group`, of `family`, with its share of the quirks."""
        rng = self._rng
        address = _address(rng, family, used)
        key = rng.randbytes(family.key_length) if family.key_length else None
        if group == "silent":
            interval, repeats = SILENT_INTERVAL_S, 1
        else:
            interval, repeats = rng.choice(family.intervals), rng.choice(family.repeats)
        silent = _silent_windows(rng, self.start, self.horizon, number) if group == "silent" else ()
        counter = _first_counter(rng, family)
        reboots: tuple[float, ...] = ()
        if family.name == "ruuvi_df5" and group in REBOOT_GROUPS and quirks.reboots_left > 0:
            quirks.reboots_left -= 1
            counter = 65_500 + rng.randrange(30)  # wraps early, then reboots
            # The first one reboots 20 minutes in, so that a short run sees it too.
            first, quirks.reboots_given = quirks.reboots_given == 0, quirks.reboots_given + 1
            reboots = _reboot_times(rng, self.start, self.horizon, first=first)
        crossing: float | None = None
        battery0, rate = rng.uniform(40.0, 100.0), rng.uniform(0.05, 0.5)
        if group == "living" and family.name in DIRECT_BATTERY_FAMILIES and quirks.crossings:
            crossing = self.start + quirks.crossings.pop(0)
            rate = 4.0
            battery0 = BATTERY_LOW - 0.5 + rate * (crossing - self.start) / DAY_S
        if group == "constant":
            battery0, rate = 80.0, 0.0
        climate = _climate(rng, group, self.start, self.horizon, number)
        sensor = SimSensor(
            address=address,
            name=f"{group}-{number:03d}",
            family=family.name,
            model=family.model,
            interval_s=interval,
            measurement_interval_s=interval * repeats,
            loss=LOSSY_LOSS if group == "lossy" else 0.0,
            receivers=RECEIVERS_OF.get(group, RECEIVERS_ONE),
            has_sequence=family.has_sequence,
            constant=group == "constant",
            silent=silent,
            group=group,
            location=LOCATIONS[group],
            integration=family.integration,
            bindkey=key.hex() if key is not None else None,
            rssi=rng.randint(-95, -45),
            reboots=reboots,
            battery_crossing=crossing,
        )
        return _State(sensor, family, key, climate, repeats, counter, battery0, rate)

    # -- what the soak asks --------------------------------------------------------------

    @property
    def advertisements_per_second(self) -> float:
        """Transmissions per simulated second (silences aside)."""
        return sum(1.0 / s.interval_s for s in self.sensors)

    def emissions(self, until: float) -> Iterator[Emission]:
        """Every emission with sim_ts < until, in time order, continuing from the last call."""
        heap = self._heap
        states = self._states
        rng = self._rng
        replace = heapq.heapreplace
        random_value = rng.random
        while heap:
            t, index = heap[0]
            if t >= until:
                return
            state = states[index]
            sensor = state.sensor
            windows = sensor.silent
            if state.window < len(windows):
                while state.window < len(windows) and t >= windows[state.window][1]:
                    state.window += 1  # a window passed between two transmissions
                if state.window < len(windows) and t >= windows[state.window][0]:
                    end = windows[state.window][1]
                    state.window += 1
                    # Out of the air: the device keeps measuring, nobody hears it.
                    if not sensor.constant:
                        missed = int((end - t) / sensor.measurement_interval_s)
                        state.counter += missed
                        state.measurement += missed
                        state.left = 0
                    replace(heap, (end + random_value() * sensor.interval_s, index))
                    continue
            if state.left <= 0:
                self._measure(state, t)
            state.left -= 1
            loss = sensor.loss
            if loss:
                heard = tuple(r for r in sensor.receivers if random_value() >= loss)
            else:
                heard = sensor.receivers
            interval = sensor.interval_s
            replace(heap, (t + interval * (1.0 + _JITTER * (random_value() - 0.5)), index))
            self.emitted += 1
            yield Emission(t, sensor.address, heard, state.line, state.measurement, state.values)

    def malformed(self, at: float, count: int) -> list[Emission]:
        """A burst of broken advertisements at `at`: under real sensors' addresses and under
        unknown ones (truncated, wrong length, bad encryption, garbage). The hub must count
        each as a decode error (or as unmatched) and store nothing from any of them."""
        rng = random.Random(f"{self.seed}:malformed:{at!r}")
        cases: list[tuple[str, AdvertisementRecordFields]] = []
        for state in self._states:
            for case in state.family.broken(state.sensor.address, state.key):
                cases.append((state.sensor.address, case))
        strangers: list[tuple[str, AdvertisementRecordFields]] = []
        for name, family in FAMILIES.items():
            stranger = _stranger(rng, self._by_address)
            strangers.extend((stranger, case) for case in family.broken(stranger, None))
            if name == "ruuvi_df5":
                junk = rng.randbytes(24)
                strangers.extend((stranger, case) for case in garbage(junk))
        burst: list[Emission] = []
        for n in range(count):
            pool = cases if n % 3 != 2 else strangers
            address, case = pool[rng.randrange(len(pool))]
            line = case.line(address, rng.randint(-95, -45))
            burst.append(Emission(at + n * 0.001, address, RECEIVERS_ONE, line, -1, _NO_VALUES))
        return burst

    def devices_config(self) -> dict[str, dict[str, str]]:
        """The hub config's `devices:` section: name, location and bindkey of every sensor."""
        devices: dict[str, dict[str, str]] = {}
        for sensor in self.sensors:
            entry = {"name": sensor.name, "location": sensor.location}
            if sensor.bindkey is not None:
                entry["bindkey"] = sensor.bindkey
            devices[sensor.address] = entry
        return devices

    def alert_rules(self) -> dict[str, list[dict[str, object]]]:
        """The soak's alert rules (contract 4), to be written as the hub's rules file."""
        return {
            "rules": [
                {
                    "name": "freezer_warm",
                    "sensors": ["freezer-*"],
                    "measurement": "temperature",
                    "above": FREEZER_LIMIT_C,
                    "for": "5m",
                    "hysteresis": 1.0,
                    "severity": "warning",
                },
                {
                    "name": "battery_low",
                    "sensors": ["*"],
                    "measurement": "battery",
                    "below": BATTERY_LOW,
                    "for": "1h",
                    "severity": "info",
                },
                {
                    "name": "silent_sensor_short",
                    "sensors": ["silent-*"],
                    "stale": f"{SILENT_STALE_FACTOR * SILENT_INTERVAL_S:g}s",
                    "severity": "warning",
                },
                {
                    "name": "sensor_silent",
                    "sensors": ["*"],
                    "stale": f"{GENEROUS_STALE_S:g}s",
                    "severity": "warning",
                },
            ]
        }

    # -- one measurement -----------------------------------------------------------------

    def _measure(self, state: _State, t: float) -> None:
        """Start the sensor's next measurement at `t`: new values, new payload."""
        sensor = state.sensor
        state.left = state.repeats
        if sensor.constant:
            if not state.line:
                state.measurement = 0
                self._encode(state, t)
            return
        state.measurement += 1
        state.counter += 1
        reboots = sensor.reboots
        if state.reboot < len(reboots) and t >= reboots[state.reboot]:
            while state.reboot < len(reboots) and t >= reboots[state.reboot]:
                state.reboot += 1
            state.counter = 0
            state.movement = 0
        self._encode(state, t)

    def _encode(self, state: _State, t: float) -> None:
        values = self._values(state, t)
        family = state.family
        sensor = state.sensor
        fields = family.encode(values, state.counter, sensor.address, state.key)
        previous = state.previous
        if previous is not None and _same_payload(fields, previous):
            # Values that did not change by a whole step: the sensor reads one step off,
            # so that every new measurement is new bytes.
            step = family.resolution.get("temperature", 0.1) * 1.01
            low, high = family.range_of("temperature")
            moved = values["temperature"] + (
                step if values["temperature"] < (low + high) / 2 else -step
            )
            fields = family.encode(
                {**values, "temperature": moved}, state.counter, sensor.address, state.key
            )
        state.previous = fields
        state.line = fields.line(sensor.address, sensor.rssi)
        state.values = MappingProxyType(dict(fields.stored))

    def _values(self, state: _State, t: float) -> dict[str, float]:
        climate = state.climate
        gauss = self._rng.gauss
        day = 2.0 * math.pi * ((t - climate.phase) % DAY_S) / DAY_S
        daily = math.cos(day)  # 1 at the warmest moment
        values: dict[str, float] = {}
        for quantity in state.family.quantities:
            values[quantity] = _QUANTITY[quantity](self, state, climate, t, daily, gauss)
        return values


# -- values -------------------------------------------------------------------------------

Gauss = Callable[[float, float], float]
_Quantity = Callable[[World, _State, _Climate, float, float, Gauss], float]


def _temperature(
    _world: World, state: _State, c: _Climate, t: float, daily: float, gauss: Gauss
) -> float:
    value = c.temperature + c.temperature_swing * daily + gauss(0.0, c.noise_t)
    defrosts = c.defrosts
    while state.defrost < len(defrosts):
        begin, plateau, peak = defrosts[state.defrost]
        if t >= begin + plateau + 2 * _RAMP_S:
            state.defrost += 1
            continue
        if t > begin:
            into = t - begin
            if into < _RAMP_S:
                share = into / _RAMP_S
            elif into < _RAMP_S + plateau:
                share = 1.0
            else:
                share = 1.0 - (into - _RAMP_S - plateau) / _RAMP_S
            value += (peak - c.temperature) * share
        break
    return value


def _humidity(
    _world: World, _state: _State, c: _Climate, _t: float, daily: float, gauss: Gauss
) -> float:
    return min(99.0, max(1.0, c.humidity - c.humidity_swing * daily + gauss(0.0, c.noise_h)))


def _pressure(
    _world: World, _state: _State, c: _Climate, t: float, _daily: float, gauss: Gauss
) -> float:
    return c.pressure + 6.0 * math.sin(2.0 * math.pi * t / (3 * DAY_S)) + gauss(0.0, 0.05)


def _battery(
    world: World, state: _State, _c: _Climate, t: float, _daily: float, _gauss: Gauss
) -> float:
    return max(1.0, state.battery0 - state.battery_rate * (t - world.start) / DAY_S)


def _co2(
    _world: World, _state: _State, c: _Climate, _t: float, daily: float, gauss: Gauss
) -> float:
    return c.co2 + 350.0 * max(0.0, daily) + gauss(0.0, 5.0)


def _pm2_5(
    _world: World, _state: _State, c: _Climate, _t: float, daily: float, gauss: Gauss
) -> float:
    return max(0.0, c.pm + 4.0 * daily + gauss(0.0, 0.5))


def _pm10(
    _world: World, _state: _State, c: _Climate, _t: float, daily: float, gauss: Gauss
) -> float:
    return max(0.0, 1.5 * (c.pm + 4.0 * daily) + gauss(0.0, 0.8))


def _moisture(
    _world: World, _state: _State, c: _Climate, t: float, daily: float, gauss: Gauss
) -> float:
    drying = 3.0 * ((t / DAY_S) % 3.0)  # watered every three days
    return min(100.0, max(0.0, c.moisture - drying - 2.0 * daily + gauss(0.0, 0.2)))


def _illuminance(
    _world: World, _state: _State, _c: _Climate, _t: float, daily: float, gauss: Gauss
) -> float:
    return max(0.0, 30_000.0 * daily + gauss(0.0, 50.0))


def _movement(
    world: World, state: _State, _c: _Climate, _t: float, _daily: float, _gauss: Gauss
) -> float:
    if world._rng.random() < 0.002:
        state.movement = (state.movement + 1) % 255
    return float(state.movement)


def _acceleration_x(
    _world: World, _state: _State, _c: _Climate, _t: float, _daily: float, gauss: Gauss
) -> float:
    return gauss(0.0, 0.01)


def _acceleration_z(
    _world: World, _state: _State, _c: _Climate, _t: float, _daily: float, gauss: Gauss
) -> float:
    return 1.0 + gauss(0.0, 0.003)


_QUANTITY: dict[str, _Quantity] = {
    "temperature": _temperature,
    "humidity": _humidity,
    "pressure": _pressure,
    "battery": _battery,
    "co2": _co2,
    "pm2_5": _pm2_5,
    "pm10": _pm10,
    "moisture": _moisture,
    "illuminance": _illuminance,
    "movement_counter": _movement,
    "acceleration_x": _acceleration_x,
    "acceleration_y": _acceleration_x,
    "acceleration_z": _acceleration_z,
}

_RAMP_S = 180.0
_NO_VALUES: Mapping[str, float] = MappingProxyType({})


# -- building helpers ---------------------------------------------------------------------


def _group_counts(total: int) -> dict[str, int]:
    shares = {"freezer": 0.03, "silent": 0.02, "constant": 0.013, "lossy": 0.10, "dual": 0.15}
    shares["greenhouse"] = 0.10
    counts = {group: max(1, round(total * share)) for group, share in shares.items()}
    counts["living"] = total - sum(counts.values())
    while counts["living"] < 1:  # a small world: take from the biggest group
        biggest = max(shares, key=lambda g: counts[g])
        counts[biggest] -= 1
        counts["living"] += 1
    return {group: counts[group] for group in GROUPS}


def _family_for(group: str, number: int, deck: _Deck) -> str:
    """The family of the `number`th sensor of `group`."""
    special = {
        "freezer": FREEZER_FAMILIES,
        "silent": SILENT_FAMILIES,
        "constant": CONSTANT_FAMILIES,
    }.get(group)
    return special[number % len(special)] if special else deck.draw()


class _Deck:
    """Families dealt in shuffled rounds, so every family appears before any repeats."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._cards: list[str] = []

    def draw(self) -> str:
        if not self._cards:
            cards = list(FAMILIES)
            self._rng.shuffle(cards)
            extra = [name for name, weight in FAMILY_WEIGHTS.items() for _ in range(weight - 1)]
            self._rng.shuffle(extra)
            self._cards = cards + extra
            self._cards.reverse()
        return self._cards.pop()


# First three address bytes per family (the makers' prefixes where they have one).
_PREFIXES = {
    "ruuvi": "C8:25:2D",
    "bthome": "38:1F:8D",
    "xiaomi": "A4:C1:38",
    "govee": "A4:C1:39",
    "switchbot": "C1:3D:F0",
    "qingping": "58:2D:34",
    "inkbird": "49:42:07",
    "thermopro": "B0:EC:8F",
    "thermobeacon": "E3:60:59",
    "aranet": "D0:E3:6A",
    "bparasite": "F0:CA:FE",
    "bluemaestro": "F5:B1:4E",
    "sensirion": "C0:4E:30",
}


def _address(rng: random.Random, family: Family, used: set[str]) -> str:
    prefix = _PREFIXES[family.integration]
    while True:
        address = (
            f"{prefix}:{rng.randrange(256):02X}:{rng.randrange(256):02X}:{rng.randrange(256):02X}"
        )
        if address not in used:
            used.add(address)
            return address


def _stranger(rng: random.Random, known: Mapping[str, object]) -> str:
    while True:
        address = "D7:" + rng.randbytes(5).hex(":").upper()
        if address not in known:
            return address


def _first_counter(rng: random.Random, family: Family) -> int:
    modulus = family.sequence_modulus
    if modulus is None:
        return rng.randrange(1_000)
    return rng.randrange(min(modulus, 1 << 20))


def _silent_windows(
    rng: random.Random, start: float, horizon: float, number: int
) -> tuple[tuple[float, float], ...]:
    """Two or three silences of 30-90 minutes a day; the first early in the run."""
    windows: list[tuple[float, float]] = []
    first = start + 15 * 60.0 + number * 7 * 60.0
    windows.append((first, first + (30 * 60.0 if number == 0 else rng.uniform(30, 90) * 60.0)))
    day = start
    while day < horizon:
        for _ in range(rng.choice((2, 3))):
            begin = day + rng.uniform(2 * 3600.0, DAY_S - 2 * 3600.0)
            windows.append((begin, begin + rng.uniform(30, 90) * 60.0))
        day += DAY_S
    windows.sort()
    merged: list[tuple[float, float]] = []
    for begin, end in windows:
        # Keep at least two hours of sound air between silences: each one is a clean case.
        if merged and begin < merged[-1][1] + 2 * 3600.0:
            continue
        merged.append((begin, end))
    return tuple(merged)


def _reboot_times(
    rng: random.Random, start: float, horizon: float, *, first: bool
) -> tuple[float, ...]:
    """Once or twice a day, at least hours apart (and once 20 minutes in, for a short run)."""
    times = [start + 20 * 60.0] if first else []
    day = start
    while day < horizon:
        for _ in range(rng.choice((1, 2))):
            times.append(day + rng.uniform(3 * 3600.0, DAY_S - 3 * 3600.0))
        day += DAY_S
    times.sort()
    spaced: list[float] = []
    for moment in times:
        if not spaced or moment - spaced[-1] >= 2 * 3600.0:
            spaced.append(moment)
    return tuple(spaced)


def _climate(rng: random.Random, group: str, start: float, horizon: float, number: int) -> _Climate:
    phase = rng.uniform(13, 16) * 3600.0  # warmest in the afternoon (UTC)
    climate = _Climate(
        temperature=rng.uniform(19.0, 23.0),
        temperature_swing=rng.uniform(0.5, 2.0),
        humidity=rng.uniform(35.0, 55.0),
        humidity_swing=rng.uniform(2.0, 6.0),
        phase=phase,
        pressure=rng.uniform(1005.0, 1020.0),
        co2=rng.uniform(420.0, 650.0),
        pm=rng.uniform(4.0, 12.0),
        moisture=rng.uniform(40.0, 60.0),
    )
    if group == "greenhouse":
        climate.temperature = rng.uniform(16.0, 20.0)
        climate.temperature_swing = rng.uniform(5.0, 9.0)
        climate.humidity = rng.uniform(62.0, 72.0)
        climate.humidity_swing = rng.uniform(10.0, 20.0)
    elif group == "freezer":
        climate.temperature = rng.uniform(-21.0, -18.5)
        climate.temperature_swing = 0.3
        climate.humidity = rng.uniform(60.0, 80.0)
        climate.noise_t = 0.05
        climate.defrosts = _defrosts(rng, climate.temperature, start, horizon, number)
    return climate


def _defrosts(
    rng: random.Random, base: float, start: float, horizon: float, number: int
) -> list[tuple[float, float, float]]:
    """About every eight hours: 10-20 minutes above -15 °C (the first early in the run)."""
    found: list[tuple[float, float, float]] = []
    begin = start + 12 * 60.0 + number * 9 * 60.0
    while begin < horizon:
        above = rng.uniform(10.0, 20.0) * 60.0
        peak = rng.uniform(-11.0, -8.0)
        # Time above the limit = plateau + the parts of both ramps above it.
        share_at_limit = (FREEZER_LIMIT_C - base) / (peak - base)
        plateau = above - 2 * _RAMP_S * (1.0 - share_at_limit)
        found.append((begin, plateau, peak))
        begin += rng.uniform(7.0, 9.0) * 3600.0
    return found


def _same_payload(a: AdvertisementRecordFields, b: AdvertisementRecordFields) -> bool:
    return a.manufacturer_data == b.manufacturer_data and a.service_data == b.service_data
