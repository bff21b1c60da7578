"""What the source passes on from BlueZ's merged view of a device, and its usual interval."""

from __future__ import annotations

from integrations.ble.devices import DeviceTable

A = "B0:12:34:56:2A:01"


def test_only_the_manufacturer_entries_that_changed_are_passed_on() -> None:
    table = DeviceTable()
    first = {6082: b"\x01\x27\x02\x2c"}
    assert table.heard(A, "hci0", 0.0, 100.0, first, {}) == (first, {})
    # BlueZ now shows the old entry and the new one: only the new one is the advertisement.
    merged = {6082: b"\x01\x27\x02\x2c", 17090: b"\x01\x56\x02\x2c"}
    assert table.heard(A, "hci0", 1.0, 101.0, merged, {}) == ({17090: merged[17090]}, {})
    # A third frame under the first company id again, with new bytes.
    merged2 = {6082: b"\x01\x28\x02\x2c", 17090: b"\x01\x56\x02\x2c"}
    assert table.heard(A, "hci0", 2.0, 102.0, merged2, {}) == ({6082: merged2[6082]}, {})


def test_a_callback_where_nothing_changed_passes_the_last_frame_again() -> None:
    table = DeviceTable()
    merged = {6082: b"\x01", 17090: b"\x02"}
    table.heard(A, "hci0", 0.0, 100.0, {6082: b"\x01"}, {})
    table.heard(A, "hci0", 1.0, 101.0, merged, {})
    # An RSSI-only PropertiesChanged: the same merged data. The sensor is alive, saying
    # what it said last.
    assert table.heard(A, "hci0", 2.0, 102.0, dict(merged), {}) == ({17090: b"\x02"}, {})
    state = table.get(A)
    assert state is not None
    assert (state.heard, state.last_wall) == (3, 102.0)


def test_service_data_is_filtered_the_same_way_and_independently() -> None:
    table = DeviceTable()
    mfr = {2409: b"\xaa"}
    bthome = "0000fcd2-0000-1000-8000-00805f9b34fb"
    xiaomi = "0000181a-0000-1000-8000-00805f9b34fb"
    table.heard(A, "hci0", 0.0, 0.0, mfr, {bthome: b"\x40\x01"})
    out = table.heard(A, "hci0", 1.0, 1.0, mfr, {bthome: b"\x40\x01", xiaomi: b"\x10"})
    # The manufacturer data did not change: its last frame still goes with the new service data.
    assert out == (mfr, {xiaomi: b"\x10"})


def test_usual_interval_is_a_running_median_of_the_gaps() -> None:
    table = DeviceTable()
    times = [0.0, 1.0, 2.0, 2.1, 3.1, 4.1, 30.0, 31.0]  # one short gap, one long outage
    for t in times:
        table.heard(A, "hci0", t, t, {}, {})
    state = table.get(A)
    assert state is not None
    assert state.usual_interval() == 1.0
    assert table.quickest_interval("hci0", since=0.0) == 1.0
    assert table.quickest_interval("hci1", since=0.0) is None


def test_two_adapters_hearing_one_advertisement_do_not_count_as_a_short_interval() -> None:
    table = DeviceTable()
    for t in (0.0, 1.0, 2.0, 3.0):
        table.heard(A, "hci0", t, t, {}, {})
        table.heard(A, "hci1", t + 0.004, t, {}, {})
    state = table.get(A)
    assert state is not None
    usual = state.usual_interval()
    assert usual is not None
    assert usual > 0.9


def test_devices_silent_for_long_are_forgotten() -> None:
    table = DeviceTable()
    table.heard("AA:00:00:00:00:01", "hci0", 10.0, 10.0, {}, {})
    table.heard("AA:00:00:00:00:02", "hci0", 500.0, 500.0, {}, {})
    assert table.forget(before=100.0) == 1
    assert [address for address, _ in table] == ["AA:00:00:00:00:02"]
