"""Topic scheme: building, parsing, and every way a topic or identifier is refused."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagtrail_protocol import Kind, Topic, TopicError, subscription
from tagtrail_protocol.ids import MAX_ID_LENGTH, check_id
from tagtrail_testbed.strategies import identifiers


def test_topic_string_form() -> None:
    topic = Topic("port-of-rotterdam", "gate-3", Kind.OBS)
    assert str(topic) == "tagtrail/v1/port-of-rotterdam/gate-3/obs"
    assert Topic.parse(str(topic)) == topic
    assert topic.sibling(Kind.ACK) == Topic("port-of-rotterdam", "gate-3", Kind.ACK)


@given(site=identifiers, gateway=identifiers, kind=st.sampled_from(Kind))
def test_every_valid_topic_round_trips(site: str, gateway: str, kind: Kind) -> None:
    topic = Topic(site, gateway, kind)
    assert Topic.parse(str(topic)) == topic


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("tagtrail/v1/site/gw", "has 4 levels"),
        ("tagtrail/v1/site/gw/obs/extra", "has 6 levels"),
        ("other/v1/site/gw/obs", "does not start with 'tagtrail'"),
        ("tagtrail/v2/site/gw/obs", "has version 'v2'"),
        ("tagtrail/v1/site/gw/telemetry", "kind 'telemetry'"),
        ("tagtrail/v1/+/gw/obs", "'+' at position 0"),
        ("tagtrail/v1/site/#/obs", "'#' at position 0"),
        ("tagtrail/v1/Site/gw/obs", "'S' at position 0"),
        ("tagtrail/v1/site/gw 1/obs", "' ' at position 2"),
        ("tagtrail/v1//gw/obs", "site id is empty"),
        ("tagtrail/v1/site/-gw/obs", "must start with a letter or a digit"),
        ("tagtrail/v1/$sys/gw/obs", "'$' at position 0"),
        ("tagtrail/v1/site/gw\x00/obs", "'\\x00' at position 2"),
        ("tagtrail/v1/s/" + "g" * (MAX_ID_LENGTH + 1) + "/obs", "65 characters long"),
        ("tagtrail/v1/s/g/obs" + "x" * 300, "at most 256"),
    ],
)
def test_malformed_topics_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(TopicError, match=None) as info:
        Topic.parse(raw)
    assert reason in str(info.value)
    assert info.value.reason == "bad_topic"


def test_constructing_a_topic_validates_its_parts() -> None:
    with pytest.raises(TopicError, match="gateway id 'gw/1'"):
        Topic("site", "gw/1", Kind.OBS)
    with pytest.raises(TopicError, match="kind 'obs' is not one of"):
        Topic("site", "gw", "obs")  # type: ignore[arg-type]


@given(st.text(max_size=80))
def test_check_id_accepts_exactly_the_documented_charset(value: str) -> None:
    valid = (
        0 < len(value) <= MAX_ID_LENGTH
        and all(c in "abcdefghijklmnopqrstuvwxyz0123456789._-" for c in value)
        and value[0] not in "._-"
    )
    if valid:
        assert check_id(value) == value
    else:
        with pytest.raises(TopicError):
            check_id(value)


def test_subscription_filters() -> None:
    assert subscription(Kind.OBS) == "tagtrail/v1/+/+/obs"
    assert subscription(Kind.ACK, site="yard", gateway="truck-7") == "tagtrail/v1/yard/truck-7/ack"
    assert (
        subscription(Kind.POS, share_group="collectors") == "$share/collectors/tagtrail/v1/+/+/pos"
    )
    with pytest.raises(TopicError, match="share group"):
        subscription(Kind.OBS, share_group="a/b")
