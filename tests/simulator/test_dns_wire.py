import struct
from ipaddress import IPv4Address

import pytest

from simulator.dns_wire import DnsError, decode_answer, encode_query


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
