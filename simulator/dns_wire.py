"""A minimal DNS query over UDP, A or AAAA: enough to ask the gateway's dnsmasq for one name,
without the system resolver's search domains or caches getting in the way."""

from __future__ import annotations

import secrets
import socket
import struct
from ipaddress import IPv4Address, IPv6Address

TYPE_A = 1
TYPE_AAAA = 28  # RFC 3596 section 2.1: 16 bytes of address in network order
TYPES = {"A": TYPE_A, "AAAA": TYPE_AAAA}
_RDATA_LENGTH = {TYPE_A: 4, TYPE_AAAA: 16}
CLASS_IN = 1
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsError(Exception):
    pass


def encode_query(query_id: int, name: str, qtype: int = TYPE_A) -> bytes:
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired, one question
    labels = b"".join(bytes([len(part)]) + part.encode("ascii") for part in name.rstrip(".").split("."))
    return header + labels + b"\x00" + struct.pack("!HH", qtype, CLASS_IN)


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        length = message[offset]
        if length & 0xC0 == 0xC0:  # compression pointer: two bytes, and the name ends
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def decode_answer(message: bytes, query_id: int, qtype: int = TYPE_A) -> list[IPv4Address | IPv6Address]:
    """The records of type ``qtype`` (A or AAAA) in a response, in its order; raises
    :class:`DnsError` for an error code."""
    answer_id, flags, questions, answers, _, _ = struct.unpack("!HHHHHH", message[:12])
    if answer_id != query_id:
        raise DnsError("response id does not match the query")
    rcode = flags & 0x000F
    if rcode:
        raise DnsError(RCODES.get(rcode, f"rcode {rcode}"))
    offset = 12
    for _ in range(questions):
        offset = _skip_name(message, offset) + 4
    addresses: list[IPv4Address | IPv6Address] = []
    for _ in range(answers):
        offset = _skip_name(message, offset)
        record_type, _, _, length = struct.unpack("!HHIH", message[offset : offset + 10])
        offset += 10
        if record_type == qtype and length == _RDATA_LENGTH[qtype]:
            data = message[offset : offset + length]
            addresses.append(IPv4Address(data) if qtype == TYPE_A else IPv6Address(data))
        offset += length
    return addresses


def query(
    server: IPv4Address, name: str, qtype: int = TYPE_A, timeout_s: float = 1.0
) -> list[IPv4Address | IPv6Address]:
    query_id = secrets.randbelow(0x10000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(encode_query(query_id, name, qtype), (str(server), 53))
        try:
            message, _ = sock.recvfrom(4096)
        except TimeoutError as exc:
            raise DnsError("no answer") from exc
    return decode_answer(message, query_id, qtype)
