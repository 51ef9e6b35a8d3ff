import struct
from ipaddress import IPv4Address, IPv6Address

import pytest

from simulator.dns_wire import TYPE_A, TYPE_AAAA, DnsError, decode_answer, encode_query


def _response(query_id: int, rcode: int, addresses: list[str]) -> bytes:
    question = encode_query(query_id, "k8s-dashboard.service")[12:]
    header = struct.pack("!HHHHHH", query_id, 0x8180 | rcode, 1, len(addresses), 0, 0)
    answers = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + IPv4Address(a).packed for a in addresses)
    return header + question + answers


def test_a_query_names_its_labels():
    assert encode_query(7, "k8s-dashboard.service")[12:] == b"\x0dk8s-dashboard\x07service\x00\x00\x01\x00\x01"


def test_answers_with_compressed_names_are_read():
    assert decode_answer(_response(7, 0, ["10.10.10.10"]), 7) == [IPv4Address("10.10.10.10")]


def test_an_error_code_is_raised_by_name():
    with pytest.raises(DnsError, match="NXDOMAIN"):
        decode_answer(_response(7, 3, []), 7)


def test_a_foreign_response_is_refused():
    with pytest.raises(DnsError, match="id"):
        decode_answer(_response(8, 0, []), 7)


def _records(query_id: int, qtype: int, records: list[tuple[int, bytes]]) -> bytes:
    """A NOERROR response to a ``qtype`` query holding ``(type, rdata)`` records."""
    question = encode_query(query_id, "web.lab.home", qtype)[12:]
    header = struct.pack("!HHHHHH", query_id, 0x8180, 1, len(records), 0, 0)
    answers = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", kind, 1, 60, len(data)) + data for kind, data in records)
    return header + question + answers


def test_an_aaaa_query_asks_for_type_28():
    assert encode_query(7, "web.lab.home", TYPE_AAAA)[-4:] == b"\x00\x1c\x00\x01"


def test_aaaa_answers_are_sixteen_bytes_and_only_the_asked_type_is_read():
    v6, v4 = IPv6Address("2001:db8:60::10"), IPv4Address("10.60.10.10")
    cname = b"\x03web\x00"
    message = _records(9, TYPE_AAAA, [(5, cname), (TYPE_AAAA, v6.packed), (TYPE_A, v4.packed)])
    assert decode_answer(message, 9, TYPE_AAAA) == [v6]
    assert decode_answer(message, 9, TYPE_A) == [v4]


def test_a_missing_family_refused_by_dnsmasq_is_an_error():
    """dnsmasq --no-resolv answers REFUSED for the family a name lacks (issue 19 research §5)."""
    question = encode_query(3, "legacy.lab.home", TYPE_AAAA)[12:]
    with pytest.raises(DnsError, match="REFUSED"):
        decode_answer(struct.pack("!HHHHHH", 3, 0x8185, 1, 0, 0, 0) + question, 3, TYPE_AAAA)
