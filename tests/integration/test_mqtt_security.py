"""TLS with a private CA and client certificates, passwords, and config errors, against a
real Mosquitto."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.bus import EventBus
from hub.clock import SystemClock
from hub.config.loader import load_config
from hub.config.models import SchedulerConfig, StoreConfig
from hub.errors import ConfigError
from hub.events import Reading
from hub.mqtt.config import MqttConfig
from hub.mqtt.publisher import MqttPublisher
from hub.mqtt.testing import Collector, Mosquitto
from hub.scheduler import Scheduler
from hub.store import SqliteStore

ADDRESS = "C8:25:2D:8E:AB:4C"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class Pki:
    """A throw-away CA with a server and a client certificate, written as PEM files."""

    def __init__(self, directory: Path, ca_name: str = "test CA") -> None:
        self.dir = directory
        now = dt.datetime.now(dt.UTC)
        self._window = (now - dt.timedelta(hours=1), now + dt.timedelta(days=1))
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = (
            self._builder(_name(ca_name), _name(ca_name), self.ca_key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca = self._write(f"{ca_name.replace(' ', '-')}.pem", self.ca_cert)

    def _builder(self, subject: x509.Name, issuer: x509.Name, key: Any) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._window[0])
            .not_valid_after(self._window[1])
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
        )

    def _write(self, name: str, cert: x509.Certificate) -> Path:
        path = self.dir / name
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        path.chmod(0o644)
        return path

    def issue(self, cn: str, *, server: bool) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            self._builder(_name(cn), self.ca_cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
        cert = builder.sign(self.ca_key, hashes.SHA256())
        key_path = self.dir / f"{cn}.key"
        key_path.write_bytes(_pem_key(key))
        key_path.chmod(0o644)  # the broker runs as its own user
        return self._write(f"{cn}.pem", cert), key_path


@asynccontextmanager
async def publisher(tmp_path: Path, **mqtt: Any) -> AsyncIterator[MqttPublisher]:
    settings = MqttConfig.model_validate({"enabled": True, "min_interval": 0, **mqtt})
    bus = EventBus()
    store = SqliteStore(StoreConfig(path=tmp_path / "hub.db"), SystemClock())
    await store.open()
    scheduler = Scheduler(SchedulerConfig())
    pub = MqttPublisher(settings, bus=bus, store=store, scheduler=scheduler, client_id="sec")
    bus.start()
    scheduler.start()
    await pub.start()
    try:
        yield pub
    finally:
        await pub.stop()
        await bus.stop()
        scheduler.shutdown()
        await store.close()


async def wait_for_attempts(pub: MqttPublisher, count: int) -> None:
    async with asyncio.timeout(10):
        while pub.connection.counters.failed_attempts < count:  # noqa: ASYNC110 - polling a counter
            await asyncio.sleep(0.02)


def reading() -> Reading:
    return Reading(
        ts=1000.0, address=ADDRESS, integration="ruuvi", measurements={"temperature": 21.5}
    )


async def test_tls_with_a_private_ca_and_a_client_certificate(tmp_path: Path) -> None:
    mq = Mosquitto(extra="")
    try:
        pki = Pki(mq.dir)
        server_cert, server_key = pki.issue("server", server=True)
        client_cert, client_key = pki.issue("client", server=False)
        mq.extra = (  # written into the config at start
            f"cafile {pki.ca}\ncertfile {server_cert}\nkeyfile {server_key}\n"
            "require_certificate true\n"
        )
        mq.start()
        tls = {"enabled": True, "ca_file": pki.ca, "cert_file": client_cert, "key_file": client_key}
        async with publisher(tmp_path, host="127.0.0.1", port=mq.port, tls=tls) as pub:
            async with asyncio.timeout(5):
                await pub.connection.wait_connected()
            client_tls = aiomqtt.TLSParameters(
                ca_certs=str(pki.ca), certfile=str(client_cert), keyfile=str(client_key)
            )
            async with Collector(mq.port, ("hub/sensor/#",), tls_params=client_tls) as sub:
                pub.on_reading(reading())
                await sub.wait_until(lambda: any(t.endswith("/state") for t in sub.latest), 5)
            state = next(v for t, v in sub.latest.items() if t.endswith("/state"))
            assert json.loads(state)["temperature"] == 21.5
            assert pub.health().state == "ok"
    finally:
        mq.close()


async def test_tls_failures_are_reported_in_health_and_retried(tmp_path: Path) -> None:
    mq = Mosquitto()
    try:
        pki = Pki(mq.dir)
        other = Pki(mq.dir, ca_name="stranger CA")
        server_cert, server_key = pki.issue("server", server=True)
        client_cert, client_key = pki.issue("client", server=False)
        mq.extra = (
            f"cafile {pki.ca}\ncertfile {server_cert}\nkeyfile {server_key}\n"
            "require_certificate true\n"
        )
        mq.start()
        # The broker's certificate is not signed by the CA we trust.
        tls = {
            "enabled": True,
            "ca_file": other.ca,
            "cert_file": client_cert,
            "key_file": client_key,
        }
        async with publisher(tmp_path, host="127.0.0.1", port=mq.port, tls=tls) as pub:
            await wait_for_attempts(pub, 2)
            health = pub.health()
            assert health.state == "degraded"
            assert "certificate verify failed" in health.reason
            assert not pub.connection.connected
        # Without a client certificate the broker refuses us.
        # (TLS 1.3 tells the client only after the handshake: the CONNACK never comes.)
        tls = {"enabled": True, "ca_file": pki.ca}
        async with publisher(tmp_path, host="127.0.0.1", port=mq.port, tls=tls, timeout=1) as pub:
            await wait_for_attempts(pub, 1)
            assert pub.health().state == "degraded"
            assert not pub.connection.connected
    finally:
        mq.close()


async def test_username_and_password_from_a_file(tmp_path: Path) -> None:
    with Mosquitto(anonymous=False) as mq:
        passwd = mq.dir / "passwd"
        await asyncio.to_thread(
            subprocess.run,
            ["mosquitto_passwd", "-b", "-c", str(passwd), "hub", "s3cret pass"],
            check=True,
        )
        passwd.chmod(0o644)
        mq.stop()
        mq.extra = f"password_file {passwd}\n"
        mq.start()
        secret = tmp_path / "mqtt.pass"
        secret.write_text("s3cret pass\n")
        common = {"host": "127.0.0.1", "port": mq.port, "username": "hub"}
        async with publisher(tmp_path, **common, password_file=str(secret)) as pub:
            async with asyncio.timeout(5):
                await pub.connection.wait_connected()
        wrong = tmp_path / "wrong"
        wrong.mkdir()
        async with publisher(wrong, **common, password="nope") as pub:
            await wait_for_attempts(pub, 1)
            health = pub.health()
            assert health.state == "degraded"
            assert "authori" in health.reason.lower(), health.reason
            assert "nope" not in json.dumps(health.details, default=str)


def test_config_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        "mqtt:\n"
        "  enabled: true\n"
        "  topic_prefix: home/#\n"
        "  qos: 3\n"
        "  tls: {enabled: true, ca_file: missing-ca.pem}\n"
        "  home_assistant: {discovery_prefix: /ha}\n"
        "sources:\n"
        "  gw: {type: mqtt_gateway, topics: [{topic: 'ruuvi/#/x', format: ruuvi}]}\n"
        "  gw2: {type: mqtt_gateway, topics: [{topic: 'a/b', format: espruino}]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    text = str(caught.value)
    for key in (
        "mqtt.topic_prefix",
        "mqtt.qos",
        "mqtt.tls",
        "mqtt.home_assistant.discovery_prefix",
        "sources.gw.topics[0].topic",
        "sources.gw2.topics[0].format",
    ):
        assert f"{config}: {key}:" in text, (key, text)
    assert "no such file" in text


def test_a_password_needs_a_username_and_is_never_echoed(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text("mqtt:\n  password: hunter2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    text = str(caught.value)
    assert f"{config}: mqtt: password given without username" in text
    assert "hunter2" not in text


def test_mqtt_is_off_unless_enabled(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text("mqtt:\n  host: broker.lan\n")
    loaded = load_config(config, environ={})
    assert loaded.mqtt.enabled is False
    assert loaded.mqtt.host == "broker.lan"
