"""A fake BlueZ for tests and benches: a private system bus, python-dbusmock's bluez5 template.

bleak's real BlueZ backend talks to it exactly as to bluetoothd. What it adds to the
template (see ../../../../shared/recipes and TEST-SERVICES.md §1 for why):

- `AddBLEDevice`: a device with BlueZ's real property types (the template's own AddDevice
  publishes `aa{qv}` manufacturer data, on which bleak's callback never fires);
- GATT objects and connect behaviours for BleakClient (`AddGattChar`, `SwallowConnect`);
- a way to kill and restart "bluetoothd", remove and re-add adapters, and read the mock's
  call log (with millisecond timestamps, from its stdout log file);
- `Radio`: fake sensors that keep advertising while their adapter is powered and
  discovering, and an adapter "stall" that only the right recovery step cures.

Blocking dbus-python calls are used from the test's event loop, as in the recipe: each takes
about a millisecond, and the signals simply wait in bleak's socket meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dbus
import dbus.bus
from dbusmock import MOCK_IFACE, BusType, PrivateDBus, SpawnedMock

BLUEZ = "org.bluez"
DEVICE_IFACE = "org.bluez.Device1"
ADAPTER_IFACE = "org.bluez.Adapter1"
CHAR_IFACE = "org.bluez.GattCharacteristic1"
ENV = "DBUS_SYSTEM_BUS_ADDRESS"

# Run inside the mock process (dbusmock exec()s it; `dbus`, `self`, `args` exist there).
ADD_BLE_DEVICE = """
adapter, address, extra, emit = args
path = '/org/bluez/%s/dev_%s' % (adapter, address.replace(':', '_').upper())
props = {
    'Address': dbus.String(address),
    'AddressType': dbus.String('public'),
    'Alias': dbus.String(address.replace(':', '-')),
    'Adapter': dbus.ObjectPath('/org/bluez/' + adapter),
    'Paired': dbus.Boolean(False),
    'Connected': dbus.Boolean(False),
    'Trusted': dbus.Boolean(False),
    'Blocked': dbus.Boolean(False),
    'LegacyPairing': dbus.Boolean(False),
    'ServicesResolved': dbus.Boolean(False),
    'UUIDs': dbus.Array([], signature='s'),
    'ManufacturerData': dbus.Dictionary({}, signature='qv'),
    'ServiceData': dbus.Dictionary({}, signature='sv'),
    'RSSI': dbus.Int16(-127),
}
props.update(extra)
self.AddObject(path, 'org.bluez.Device1', props,
               [('Connect', '', '', ''), ('Disconnect', '', '', '')])
if emit:
    self.EmitSignal('org.freedesktop.DBus.ObjectManager', 'InterfacesAdded', 'oa{sa{sv}}',
                    [dbus.ObjectPath(path), {'org.bluez.Device1': props}])
ret = path
"""

ADD_GATT_CHAR = """
dev_path, svc_uuid, char_uuid, flags = args
svc_path = dev_path + '/service000c'
char_path = svc_path + '/char000d'
svc_props = {
    'UUID': dbus.String(svc_uuid),
    'Device': dbus.ObjectPath(dev_path),
    'Primary': dbus.Boolean(True),
    'Includes': dbus.Array([], signature='o'),
}
char_props = {
    'UUID': dbus.String(char_uuid),
    'Service': dbus.ObjectPath(svc_path),
    'Flags': dbus.Array(flags, signature='s'),
    'Value': dbus.Array([], signature='y'),
    'Notifying': dbus.Boolean(False),
}
self.AddObject(svc_path, 'org.bluez.GattService1', svc_props, [])
self.AddObject(char_path, 'org.bluez.GattCharacteristic1', char_props, [
    ('ReadValue', 'a{sv}', 'ay', "ret = self.props['org.bluez.GattCharacteristic1']['Value']"),
    ('WriteValue', 'aya{sv}', '', ''),
    ('StartNotify', '', '', NOTIFY_CODE),
    ('StopNotify', '', '',
     "self.UpdateProperties('org.bluez.GattCharacteristic1', {'Notifying': dbus.Boolean(False)})"),
])
for p, iface, pr in ((svc_path, 'org.bluez.GattService1', svc_props),
                     (char_path, 'org.bluez.GattCharacteristic1', char_props)):
    self.EmitSignal('org.freedesktop.DBus.ObjectManager', 'InterfacesAdded', 'oa{sa{sv}}',
                    [dbus.ObjectPath(p), dbus.Dictionary({iface: pr}, signature='sa{sv}')])
ret = char_path
"""

# StartNotify on a device that answers: Notifying, then at once one notification with the
# value stored in `pending` on the characteristic (set by the test), like the real sensor.
NOTIFY_CODE = (
    "self.UpdateProperties('org.bluez.GattCharacteristic1', {'Notifying': dbus.Boolean(True)})\n"
    "pending = getattr(self, 'pending', None)\n"
    "if pending is not None:\n"
    "    self.UpdateProperties('org.bluez.GattCharacteristic1',\n"
    "                          {'Value': dbus.Array(pending, signature='y')})\n"
)
CONNECT_OK = """
self.UpdateProperties('org.bluez.Device1', {'Connected': dbus.Boolean(True)})
self.UpdateProperties('org.bluez.Device1', {'ServicesResolved': dbus.Boolean(True)})
"""
DISCONNECT = """
self.UpdateProperties('org.bluez.Device1', {'ServicesResolved': dbus.Boolean(False),
                                            'Connected': dbus.Boolean(False)})
"""
SET_PENDING = "self.pending = list(args[0])"
# A libdbus filter in the mock that eats Connect calls to one path: a Connect that never
# answers, while the mock keeps serving everything else.
SWALLOW_CONNECT = """
import dbus.lowlevel
def _swallow(conn, msg, hang_path=args[0], state=self, ll=dbus.lowlevel):
    if (msg.get_type() == ll.MESSAGE_TYPE_METHOD_CALL and msg.get_member() == 'Connect'
            and msg.get_path() == hang_path):
        state.swallowed = getattr(state, 'swallowed', 0) + 1
        return ll.HANDLER_RESULT_HANDLED
    return ll.HANDLER_RESULT_NOT_YET_HANDLED
self.connection.add_message_filter(_swallow)
"""
SWALLOWED = "ret = dbus.Int32(getattr(self, 'swallowed', 0))"
# Makes the next `count` StartDiscovery calls on an adapter fail with a BlueZ error.
FAIL_START = """
count, = args
self.failing_starts = count
"""
START_DISCOVERY = """
if getattr(self, 'failing_starts', 0) > 0:
    self.failing_starts -= 1
    raise dbus.exceptions.DBusException('Operation already in progress',
                                        name='org.bluez.Error.InProgress')
self.props['org.bluez.Adapter1']['Discovering'] = True
self.EmitSignal('org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as',
                ['org.bluez.Adapter1', {'Discovering': dbus.Boolean(True)}, []])
"""


def adv_props(
    mfr: Mapping[int, bytes] | None = None,
    svc: Mapping[str, bytes] | None = None,
    rssi: int | None = None,
    name: str | None = None,
) -> dbus.Dictionary:
    """Device1 properties with the D-Bus types real BlueZ uses."""
    props: dict[str, Any] = {}
    if mfr is not None:
        props["ManufacturerData"] = dbus.Dictionary(
            {dbus.UInt16(k): dbus.Array(v, signature="y") for k, v in mfr.items()},
            signature="qv",
        )
    if svc is not None:
        props["ServiceData"] = dbus.Dictionary(
            {dbus.String(k): dbus.Array(v, signature="y") for k, v in svc.items()},
            signature="sv",
        )
    if rssi is not None:
        props["RSSI"] = dbus.Int16(rssi)
    if name is not None:
        props["Name"] = dbus.String(name)
    return dbus.Dictionary(props, signature="sv")


def record_props(record: Mapping[str, Any]) -> dict[str, Any]:
    """A contract-1 record as keyword arguments of `advertise`."""
    adv: dict[str, Any] = {}
    if record.get("manufacturer_data"):
        adv["mfr"] = {int(k): bytes.fromhex(v) for k, v in record["manufacturer_data"].items()}
    if record.get("service_data"):
        adv["svc"] = {k: bytes.fromhex(v) for k, v in record["service_data"].items()}
    if record.get("rssi") is not None:
        adv["rssi"] = record["rssi"]
    if record.get("name"):
        adv["name"] = record["name"]
    return adv


def device_path(adapter: str, address: str) -> str:
    return f"/org/bluez/{adapter}/dev_{address.upper().replace(':', '_')}"


class FakeBlueZ:
    """A private system bus with a fake bluetoothd that can be killed and restarted."""

    def __init__(
        self,
        workdir: Path,
        adapters: Sequence[str] = ("hci0",),
        monitor_api: bool = True,
        bus_config: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.adapters = list(adapters)
        self.monitor_api = monitor_api
        self._bus_config = bus_config
        self.bus: PrivateDBus | None = None
        self._daemon: subprocess.Popen[bytes] | None = None
        self.address = ""
        self.mock: SpawnedMock | None = None
        self.conn: dbus.bus.BusConnection | None = None
        self._saved_env: str | None = None
        self._log_handle: Any = None
        self.log_path = workdir / "bluetoothd-0.log"
        self._generation = 0

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FakeBlueZ:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._saved_env = os.environ.get(ENV)
        if self._bus_config is None:
            self.bus = PrivateDBus(BusType.SYSTEM)
            self.bus.start()  # sets os.environ[ENV]
            self.address = self.bus.address
        else:
            self._start_custom_bus(self._bus_config)
        try:
            self.conn = dbus.bus.BusConnection(self.address)
            self.start_bluetoothd()
        except BaseException:
            self.stop()
            raise

    def _start_custom_bus(self, policy: str) -> None:
        """A dbus-daemon with the given <policy> elements (e.g. one that denies org.bluez)."""
        socket = self.workdir / "system_bus.socket"
        config = self.workdir / "bus.conf"
        config.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" '
            '"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            f"<busconfig><type>system</type><keep_umask/><listen>unix:path={socket}</listen>"
            f"{policy}</busconfig>\n"
        )
        self._daemon = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--print-pid=1", "--nofork"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self._daemon.stdout is not None
        self._daemon.stdout.readline()
        self._daemon.stdout.close()
        self.address = f"unix:path={socket}"
        os.environ[ENV] = self.address

    def start_bluetoothd(self) -> None:
        """Start (again) the fake bluetoothd, with its adapters."""
        self._generation += 1
        self.log_path = self.workdir / f"bluetoothd-{self._generation}.log"
        self._log_handle = self.log_path.open("wb")
        parameters = None if self.monitor_api else {"enable_monitor_api": False}
        self.mock = SpawnedMock.spawn_with_template(
            "bluez5", parameters, stdout=self._log_handle, stderr=subprocess.DEVNULL
        )
        root = self._mock_iface("/")
        for name, in_sig, out_sig, code in (
            ("AddBLEDevice", "ssa{sv}b", "s", ADD_BLE_DEVICE),
            ("AddGattChar", "sssas", "s", ADD_GATT_CHAR.replace("NOTIFY_CODE", repr(NOTIFY_CODE))),
            ("SwallowConnect", "s", "", SWALLOW_CONNECT),
            ("Swallowed", "", "i", SWALLOWED),
        ):
            root.AddMethod("org.bluez.Mock", name, in_sig, out_sig, code)
        for adapter in self.adapters:
            self.add_adapter(adapter)

    def kill_bluetoothd(self) -> None:
        """SIGKILL the fake bluetoothd: no goodbye signals, like a crash."""
        if self.mock is not None:
            self.mock.process.kill()
            self.mock.process.wait(timeout=5)
            self.mock = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.mock is not None:
                self.mock.terminate()
        self.mock = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.bus is not None:
            self.bus.stop()
            self.bus = None
        if self._daemon is not None:
            self._daemon.terminate()
            try:
                self._daemon.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._daemon.kill()
                self._daemon.wait()
            self._daemon = None
        if self._saved_env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self._saved_env

    # -- objects -------------------------------------------------------------------------

    def _obj(self, path: str) -> Any:
        assert self.conn is not None
        return self.conn.get_object(BLUEZ, path)

    def _mock_iface(self, path: str) -> Any:
        return dbus.Interface(self._obj(path), MOCK_IFACE)

    def _bluez_mock(self) -> Any:
        return dbus.Interface(self._obj("/"), "org.bluez.Mock")

    def pids(self) -> list[int]:
        """The processes of the fake: bus daemon and bluetoothd."""
        pids = []
        if self.bus is not None:
            pids.append(self.bus.pid)
        if self._daemon is not None:
            pids.append(self._daemon.pid)
        if self.mock is not None:
            pids.append(self.mock.process.pid)
        return pids

    def add_mock_method(self, name: str, in_sig: str, out_sig: str, code: str) -> None:
        """A method `org.bluez.Mock.<name>` on "/" running `code` in the fake bluetoothd."""
        self._mock_iface("/").AddMethod("org.bluez.Mock", name, in_sig, out_sig, code)

    def add_adapter(self, adapter: str) -> None:
        self._bluez_mock().AddAdapter(adapter, "hub")
        # StartDiscovery that can be told to fail (FailStart) and that only touches
        # Discovering (the template's also flips Discoverable).
        obj = self._mock_iface(f"/org/bluez/{adapter}")
        obj.AddMethod(ADAPTER_IFACE, "StartDiscovery", "", "", START_DISCOVERY)
        obj.AddMethod("org.bluez.Mock", "FailStart", "i", "", FAIL_START)
        if adapter not in self.adapters:
            self.adapters.append(adapter)

    def remove_adapter(self, adapter: str) -> None:
        self._bluez_mock().RemoveAdapter(adapter)

    def fail_starts(self, adapter: str, count: int) -> None:
        """The next `count` StartDiscovery calls on `adapter` fail (org.bluez.Error.InProgress)."""
        self._mock_iface(f"/org/bluez/{adapter}").FailStart(count, dbus_interface="org.bluez.Mock")

    def add_device(self, adapter: str, address: str, *, emit: bool = True, **adv: Any) -> str:
        return str(self._bluez_mock().AddBLEDevice(adapter, address, adv_props(**adv), emit))

    def advertise(self, path: str, **adv: Any) -> None:
        """One advertisement from a known device (one PropertiesChanged)."""
        obj = self._obj(path)
        dev = dbus.Interface(obj, MOCK_IFACE)
        props = adv_props(**adv)
        have = obj.GetAll(DEVICE_IFACE, dbus_interface=dbus.PROPERTIES_IFACE)
        for name in set(props) - set(have):
            dev.AddProperty(DEVICE_IFACE, name, props[name])
        dev.UpdateProperties(DEVICE_IFACE, props)

    def adapter_state(self, adapter: str) -> tuple[bool, bool] | None:
        """(powered, listening), or None when the adapter or bluetoothd is absent.

        Listening: discovering (active scanning), or an advertisement monitor registered
        (passive scanning, which does not set Discovering).
        """
        try:
            props = self._obj(f"/org/bluez/{adapter}").GetAll(
                ADAPTER_IFACE, dbus_interface=dbus.PROPERTIES_IFACE
            )
            listening = bool(props["Discovering"])
            if not listening:
                calls = self.adapter_calls(adapter)
                listening = calls.count("RegisterMonitor") > calls.count("UnregisterMonitor")
        except dbus.exceptions.DBusException:
            return None
        return bool(props["Powered"]), listening

    def adapter_calls(self, adapter: str) -> list[str]:
        return [str(call[1]) for call in self._mock_iface(f"/org/bluez/{adapter}").GetCalls()]

    def log(self) -> list[tuple[float, str]]:
        """The mock's log so far: (time, line) with millisecond times."""
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            stamp, _, text = raw.partition(" ")
            with contextlib.suppress(ValueError):
                lines.append((float(stamp), text))
        return lines

    # -- GATT ----------------------------------------------------------------------------

    def add_gatt_sensor(
        self,
        adapter: str,
        address: str,
        service_uuid: str,
        char_uuid: str,
        *,
        answers: bool = True,
        value: bytes | None = None,
    ) -> tuple[str, str]:
        """A connectable device with one notify/read characteristic; (device, char) paths."""
        dev = self.add_device(adapter, address, name="LYWSD03MMC", rssi=-60)
        mock = self._mock_iface(dev)
        mock.AddMethod(DEVICE_IFACE, "Connect", "", "", CONNECT_OK)
        mock.AddMethod(DEVICE_IFACE, "Disconnect", "", "", DISCONNECT)
        char = str(self._bluez_mock().AddGattChar(dev, service_uuid, char_uuid, ["read", "notify"]))
        self._mock_iface(char).AddMethod("org.bluez.Mock", "SetPending", "ay", "", SET_PENDING)
        if value is not None:
            self.set_notification(char, value)
        if not answers:
            self._bluez_mock().SwallowConnect(dev)
        return dev, char

    def set_notification(self, char_path: str, value: bytes) -> None:
        """The value the device notifies once subscribed."""
        self._mock_iface(char_path).SetPending(
            dbus.Array(value, signature="y"), dbus_interface="org.bluez.Mock"
        )

    def swallowed(self) -> int:
        return int(self._bluez_mock().Swallowed())

    def device_calls(self, path: str) -> list[str]:
        return [str(call[1]) for call in self._mock_iface(path).GetCalls()]


@dataclass
class FakeSensor:
    """A sensor the radio keeps advertising: cycles through its records."""

    adapter: str
    address: str
    records: list[dict[str, Any]]
    path: str = ""
    sent: int = 0
    _cycle: Iterator[dict[str, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._cycle = itertools.cycle(self.records)

    def next_record(self) -> dict[str, Any]:
        return next(self._cycle)


class Radio:
    """Fake sensors advertising every `period` on every adapter that is powered and scanning.

    `stall(adapter, cure)` makes the adapter deliver nothing, like a stuck controller, until
    the named cure is seen: `"restart"` any new StartDiscovery, `"power"` the adapter being
    powered off over D-Bus, `"never"` nothing (only `heal`).
    """

    def __init__(self, fake: FakeBlueZ, period: float = 0.05) -> None:
        self.fake = fake
        self.period = period
        self.sensors: list[FakeSensor] = []
        self._stalls: dict[str, tuple[str, int]] = {}
        self.paused = False
        self.ticks = 0

    def add(self, adapter: str, address: str, records: list[dict[str, Any]]) -> FakeSensor:
        sensor = FakeSensor(adapter, address, records)
        sensor.path = device_path(adapter, address)
        self.sensors.append(sensor)
        return sensor

    def stall(self, adapter: str, cure: str) -> None:
        self._stalls[adapter] = (cure, len(self.fake.log()))

    def heal(self, adapter: str) -> None:
        self._stalls.pop(adapter, None)

    def stalled(self, adapter: str) -> bool:
        return adapter in self._stalls

    def _cured(self, adapter: str) -> bool:
        cure, since = self._stalls[adapter]
        if cure == "never":
            return False
        lines = [text for _, text in self.fake.log()[since:]]
        if cure == "restart":
            return any(text.startswith("StartDiscovery") for text in lines)
        wanted = f"Set /org/bluez/{adapter} {ADAPTER_IFACE}.Powered False"
        return any(text.startswith(wanted) for text in lines)

    def tick(self) -> None:
        self.ticks += 1
        if self.paused:
            return
        states: dict[str, tuple[bool, bool] | None] = {}
        for sensor in self.sensors:
            adapter = sensor.adapter
            if adapter not in states:
                states[adapter] = self.fake.adapter_state(adapter)
                if adapter in self._stalls and self._cured(adapter):
                    self.heal(adapter)
            state = states[adapter]
            if state is None or not all(state) or adapter in self._stalls:
                continue
            record = sensor.next_record()
            try:
                self.fake.advertise(sensor.path, **record_props(record))
            except dbus.exceptions.DBusException as exc:
                if "UnknownObject" not in str(exc) and "ServiceUnknown" not in str(exc):
                    raise
                # bluetoothd restarted without this device: add it quietly (as a cached
                # device, no InterfacesAdded) and advertise from the next tick on.
                with contextlib.suppress(dbus.exceptions.DBusException):
                    self.fake.add_device(adapter, sensor.address, emit=False)
                continue
            sensor.sent += 1

    async def run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(self.period)
