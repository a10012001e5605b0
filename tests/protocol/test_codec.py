"""Codec: round-trips, and every way a payload is refused without being half-decoded."""

import json
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagtrail_protocol import (
    Codec,
    DecodeError,
    EncodeError,
    InvalidMessage,
    Kind,
    MalformedPayload,
    Message,
    ObservationBatch,
    PayloadTooLarge,
    Topic,
    TopicMismatch,
    UnknownKind,
    UnsupportedVersion,
    decode,
    encode,
)
from tagtrail_protocol.codec import _keys_written
from tagtrail_testbed.samples import obs_dict
from tagtrail_testbed.strategies import messages

COMPRESSING = Codec(compress_above=0)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


@given(messages())
def test_every_valid_message_round_trips(message: Message) -> None:
    assert decode(encode(message)) == message


@given(messages())
def test_every_valid_message_round_trips_compressed(message: Message) -> None:
    data = COMPRESSING.encode(message)
    assert data[0] == 0x78
    assert COMPRESSING.decode(data) == message
    assert decode(data) == message  # any codec inflates


def test_compression_only_above_threshold(obs_batch: ObservationBatch) -> None:
    plain = encode(obs_batch)
    assert Codec(compress_above=len(plain)).encode(obs_batch) == plain
    assert Codec(compress_above=len(plain) - 1).encode(obs_batch) != plain


@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    reasons = {"too_large", "malformed", "bad_version", "unknown_kind", "invalid"}
    try:
        decode(data)
    except DecodeError as exc:
        error = exc
    else:
        return  # bytes that happen to be a valid message are fine too
    assert error.reason in reasons
    assert str(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_random_json_raises_only_decode_error(value: Any) -> None:
    with pytest.raises(DecodeError):
        decode(dumps(value))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.data())
def test_mutated_messages_decode_whole_or_raise_decode_error(
    message: Message, data: st.DataObject
) -> None:
    obj = json.loads(encode(message))
    key = data.draw(st.sampled_from(sorted(obj)))
    obj[key] = data.draw(json_values)
    try:
        decoded = decode(dumps(obj))
    except DecodeError:
        return
    assert isinstance(decoded, type(message))


@pytest.mark.parametrize(
    ("payload", "error", "says"),
    [
        (b"", MalformedPayload, "not valid JSON"),
        (b"{not json", MalformedPayload, "not valid JSON"),
        (b"\xff\xfe{}", MalformedPayload, "not valid JSON"),
        (b"[1, 2]", MalformedPayload, "a JSON list, expected an object"),
        (b'{"v": "1.0", "kind": "obs", "seq": NaN}', MalformedPayload, "NaN is not allowed"),
        (b'{"v": "1.0", "v": "1.0"}', MalformedPayload, "key 'v' appears twice"),
        (b"[" * 100_000 + b"]" * 100_000, MalformedPayload, "nested too deeply"),
        (b'{"kind": "obs"}', UnsupportedVersion, 'no schema version "v"'),
        (b'{"v": 1, "kind": "obs"}', UnsupportedVersion, "is not of the form"),
        (b'{"v": "one", "kind": "obs"}', UnsupportedVersion, "is not of the form"),
        (b'{"v": "2.0", "kind": "obs"}', UnsupportedVersion, "major version 2 is not supported"),
        (b'{"v": "1.0"}', UnknownKind, 'no "kind"'),
        (b'{"v": "1.0", "kind": "cmd"}', UnknownKind, "reserved"),
        (b'{"v": "1.0", "kind": "telemetry"}', UnknownKind, "'telemetry' is not one of"),
        (b'{"v": "1.0", "kind": 5}', UnknownKind, "5 is not one of"),
        (zlib.compress(b"{}")[:-3], MalformedPayload, "truncated"),
        (b"\x78garbage", MalformedPayload, "not valid zlib"),
    ],
)
def test_rejections_name_what_is_wrong(payload: bytes, error: type[DecodeError], says: str) -> None:
    with pytest.raises(error) as info:
        Codec(max_payload_bytes=1 << 20).decode(payload)
    assert says in str(info.value)


def test_invalid_fields_are_listed_by_path() -> None:
    bad = obs_dict(seq=-1)
    bad["items"][0]["epc"] = "XYZ"
    with pytest.raises(InvalidMessage) as info:
        decode(dumps(bad))
    paths = dict(info.value.errors)
    assert set(paths) == {"seq", "items.0.epc"}
    assert "greater than or equal to 0" in paths["seq"]
    assert "hexadecimal" in paths["items.0.epc"]
    assert str(info.value).startswith("invalid obs message: ")


def test_unknown_field_is_refused_in_our_minor_version() -> None:
    with pytest.raises(InvalidMessage, match="colour: Extra inputs are not permitted"):
        decode(dumps(obs_dict(colour="red")))


def test_unknown_fields_of_a_newer_minor_version_are_ignored() -> None:
    newer = obs_dict(v="1.7", colour="red")
    newer["items"][0]["phase_deg"] = 12.5
    message = decode(dumps(newer))
    assert isinstance(message, ObservationBatch)
    assert message.v == "1.7"
    assert message.items[0].count == 12


def test_newer_minor_version_still_needs_every_required_field() -> None:
    newer = obs_dict(v="1.7")
    del newer["seq"]
    with pytest.raises(InvalidMessage, match="seq: Field required"):
        decode(dumps(newer))


def test_size_cap_applies_before_and_after_inflating() -> None:
    codec = Codec(max_payload_bytes=1000)
    with pytest.raises(PayloadTooLarge, match="1001 bytes"):
        codec.decode(b" " * 1001)
    bomb = zlib.compress(b"{" + b" " * 500_000 + b"}")
    assert len(bomb) < 1000
    with pytest.raises(PayloadTooLarge, match="inflates to more than 1000 bytes"):
        codec.decode(bomb)


def test_encode_refuses_a_message_over_the_cap(obs_batch: ObservationBatch) -> None:
    with pytest.raises(EncodeError, match="at most 100"):
        Codec(max_payload_bytes=100).encode(obs_batch)


def test_decode_for_checks_kind_and_gateway(obs_batch: ObservationBatch) -> None:
    data = encode(obs_batch)
    assert Codec().decode_for(Topic("port", "gate-3", Kind.OBS), data) == obs_batch
    with pytest.raises(TopicMismatch, match="a obs message arrived on pos topic"):
        Codec().decode_for(Topic("port", "gate-3", Kind.POS), data)
    with pytest.raises(TopicMismatch, match="from gateway 'gate-3' arrived on gateway 'gate-4'"):
        Codec().decode_for(Topic("port", "gate-4", Kind.OBS), data)


def test_encoded_form_is_compact_json(obs_batch: ObservationBatch) -> None:
    obj = json.loads(encode(obs_batch))
    assert obj["v"] == "1.0"
    assert obj["kind"] == "obs"
    assert "position" not in obj["items"][0]  # absent optional fields are left out
    assert obj["items"][0]["first_seen"] == "2026-03-14T09:26:53.589793Z"


_json_keys = st.text(min_size=1, max_size=6)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_json_keys, inner, max_size=3),
    max_leaves=12,
)


def _with_repeated_key(obj: dict[str, Any], separator: str) -> bytes:
    """``obj`` as JSON text, with one object somewhere given its first key a second time."""
    text = json.dumps({"v": "1.0", "kind": "obs", "payload": obj}, separators=(",", separator))
    key = json.dumps(next(iter(obj)))
    return text.replace(f"{{{key}{separator}", f"{{{key}{separator}1,{key}{separator}", 1).encode()


@settings(max_examples=200)
@given(obj=st.dictionaries(_json_keys, _json_values, min_size=1, max_size=4),
       separator=st.sampled_from([":", " : ", ":\n"]))  # fmt: skip
def test_a_repeated_key_is_refused_wherever_it_is(obj: dict[str, Any], separator: str) -> None:
    payload = _with_repeated_key(obj, separator)

    with pytest.raises(MalformedPayload, match="appears twice"):
        Codec().decode(payload)


@given(obj=st.dictionaries(_json_keys, _json_values, max_size=4),
       separator=st.sampled_from([":", " : ", ":\n"]))  # fmt: skip
def test_json_without_repeated_keys_is_not_mistaken_for_it(
    obj: dict[str, Any], separator: str
) -> None:
    text = json.dumps(
        {"v": "1.0", "kind": "telemetry", "payload": obj}, separators=(",", separator)
    )

    with pytest.raises(UnknownKind):  # parsed whole, refused only for its kind
        Codec().decode(text.encode())


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ('{"a":1,"b":{"c":[{"d":"x:"}]}}', 4),
        ('{"a" :1, "b"\n:\t{"c" : "\\":"}}', None),  # an escape: left to the slow check
        ('{"a" :1, "b"\n:\t{"c"\r: "y"}}', 3),
    ],
)
def test_keys_are_counted_from_the_text_when_it_is_cheap(text: str, keys: int | None) -> None:
    assert _keys_written(text.encode()) == keys
