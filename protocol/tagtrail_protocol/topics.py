"""MQTT topics: ``tagtrail/v1/{site}/{gateway}/{kind}``, their builder, parser and filters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tagtrail_protocol.errors import TopicError
from tagtrail_protocol.ids import check_id

ROOT: Final = "tagtrail"
TOPIC_VERSION: Final = "v1"
MAX_TOPIC_LENGTH: Final = 256


class Kind(StrEnum):
    """What a topic carries."""

    OBS = "obs"  # observation batches, gateway -> collector
    POS = "pos"  # position batches, gateway -> collector
    STATUS = "status"  # retained gateway status, also the MQTT last will
    ACK = "ack"  # collector -> gateway: which batches are stored
    CMD = "cmd"  # reserved for remote configuration, collector -> gateway
    PING = "ping"  # gateway -> collector: answer on my ack topic (since 1.1)


GATEWAY_PUBLISHES: Final = frozenset({Kind.OBS, Kind.POS, Kind.STATUS, Kind.PING})


@dataclass(frozen=True, slots=True)
class Topic:
    """A concrete topic. Constructing one validates its identifiers."""

    site: str
    gateway: str
    kind: Kind

    def __post_init__(self) -> None:
        check_id(self.site, what="site id")
        check_id(self.gateway, what="gateway id")
        if not isinstance(self.kind, Kind):
            raise TopicError(f"kind {self.kind!r} is not one of {_kinds()}")

    def __str__(self) -> str:
        return f"{ROOT}/{TOPIC_VERSION}/{self.site}/{self.gateway}/{self.kind.value}"

    def sibling(self, kind: Kind) -> Topic:
        """The same gateway's topic of another kind (e.g. the ack topic for an obs topic)."""
        return Topic(self.site, self.gateway, kind)

    @classmethod
    def parse(cls, topic: str) -> Topic:
        """Parse a topic string; raise TopicError naming the first thing that is wrong."""
        if len(topic) > MAX_TOPIC_LENGTH:
            raise TopicError(f"topic is {len(topic)} characters long (at most {MAX_TOPIC_LENGTH})")
        parts = topic.split("/")
        if len(parts) != 5:
            raise TopicError(
                f"topic {topic!r} has {len(parts)} levels; expected 5: "
                f"{ROOT}/{TOPIC_VERSION}/<site>/<gateway>/<kind>"
            )
        root, version, site, gateway, kind = parts
        if root != ROOT:
            raise TopicError(f"topic {topic!r} does not start with {ROOT!r}")
        if version != TOPIC_VERSION:
            raise TopicError(
                f"topic {topic!r} has version {version!r}; this code speaks {TOPIC_VERSION!r}"
            )
        try:
            parsed_kind = Kind(kind)
        except ValueError:
            raise TopicError(f"topic {topic!r} has kind {kind!r}, not one of {_kinds()}") from None
        return cls(site, gateway, parsed_kind)


def subscription(
    kind: Kind,
    *,
    site: str | None = None,
    gateway: str | None = None,
    share_group: str | None = None,
) -> str:
    """A subscription filter, ``+`` for any site/gateway not given; ``$share/<group>/`` optional."""
    site_level = "+" if site is None else check_id(site, what="site id")
    gateway_level = "+" if gateway is None else check_id(gateway, what="gateway id")
    base = f"{ROOT}/{TOPIC_VERSION}/{site_level}/{gateway_level}/{Kind(kind).value}"
    if share_group is None:
        return base
    return f"$share/{check_id(share_group, what='share group')}/{base}"


def _kinds() -> str:
    return ", ".join(k.value for k in Kind)
