"""Provisioning a gateway: register it, give it a broker account, hand out its config snippet."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from tagtrail_collector.errors import NotFound, ProvisionError
from tagtrail_collector.provision.broker import BrokerFiles
from tagtrail_collector.store.registry.registry import Registry


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where gateways reach the broker, as written into their config."""

    host: str
    port: int = 8883
    ca_file: Path | None = Path("/etc/tagtrail/ca.crt")


@dataclass(frozen=True, slots=True)
class GatewayCredential:
    """What a gateway needs to connect: shown once, never stored in clear."""

    gateway: str
    site: str
    mobile: bool
    username: str
    password: str
    host: str
    port: int
    ca_file: str | None
    rotated: bool

    def edge_toml(self) -> str:
        """The ``[gateway]`` and ``[mqtt]`` sections of the gateway's edge.toml."""
        lines = [
            f"# tagtrail gateway {self.gateway}: merge into /etc/tagtrail/edge.toml (secret!)",
            "[gateway]",
            f'id = "{self.gateway}"',
            f'site = "{self.site}"',
            f"mobile = {'true' if self.mobile else 'false'}",
            "",
            "[mqtt]",
            f'host = "{self.host}"',
            f"port = {self.port}",
            f'username = "{self.username}"',
            f'password = "{self.password}"',
        ]
        if self.ca_file is not None:
            lines.append(f'ca_file = "{self.ca_file}"')
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def provision_gateway(
    registry: Registry,
    files: BrokerFiles,
    gateway: str,
    *,
    site: str,
    mobile: bool,
    broker: BrokerAddress,
) -> GatewayCredential:
    """Register ``gateway`` (unless it is) and give it a new broker password.

    Provisioning a gateway again rotates its password; the old one stops working when the broker
    rereads its files. A gateway already registered elsewhere is refused rather than moved.
    """
    try:
        known = registry.gateway(gateway)
    except NotFound:
        registry.create_gateway(gateway, site_id=site, mobile=mobile)
        rotated = False
    else:
        if (known.site_id, known.mobile) != (site, mobile):
            where = f"site {known.site_id}, {'mobile' if known.mobile else 'fixed'}"
            raise ProvisionError(f"gateway {gateway!r} is registered at {where}; not changed")
        rotated = gateway in files.users()
    password = files.set_gateway(gateway, site)
    return GatewayCredential(
        gateway=gateway,
        site=site,
        mobile=mobile,
        username=gateway,
        password=password,
        host=broker.host,
        port=broker.port,
        ca_file=str(broker.ca_file) if broker.ca_file is not None else None,
        rotated=rotated,
    )
