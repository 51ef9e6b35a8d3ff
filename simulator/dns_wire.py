"""A minimal DNS A query over UDP: enough to ask the gateway's dnsmasq for one name, without
the system resolver's search domains or caches getting in the way."""

from __future__ import annotations

import secrets
import socket
import struct
from ipaddress import IPv4Address

TYPE_A = 1
CLASS_IN = 1
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsError(Exception):
    pass


def encode_query(query_id: int, name: str) -> bytes:
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired, one question
    labels = b"".join(bytes([len(part)]) + part.encode("ascii") for part in name.rstrip(".").split("."))
    return header + labels + b"\x00" + struct.pack("!HH", TYPE_A, CLASS_IN)


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        length = message[offset]
        if length & 0xC0 == 0xC0:  # compression pointer: two bytes, and the name ends
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def decode_answer(message: bytes, query_id: int) -> list[IPv4Address]:
    """The A records of a response; raises :class:`DnsError` for an error code."""
    answer_id, flags, questions, answers, _, _ = struct.unpack("!HHHHHH", message[:12])
    if answer_id != query_id:
        raise DnsError("response id does not match the query")
    rcode = flags & 0x000F
    if rcode:
        raise DnsError(RCODES.get(rcode, f"rcode {rcode}"))
    offset = 12
    for _ in range(questions):
        offset = _skip_name(message, offset) + 4
    addresses = []
    for _ in range(answers):
        offset = _skip_name(message, offset)
        record_type, _, _, length = struct.unpack("!HHIH", message[offset : offset + 10])
        offset += 10
        if record_type == TYPE_A and length == 4:
            addresses.append(IPv4Address(message[offset : offset + 4]))
        offset += length
    return addresses


def query_a(server: IPv4Address, name: str, timeout_s: float = 1.0) -> list[IPv4Address]:
    query_id = secrets.randbelow(0x10000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(encode_query(query_id, name), (str(server), 53))
        try:
            message, _ = sock.recvfrom(4096)
        except TimeoutError as exc:
            raise DnsError("no answer") from exc
    return decode_answer(message, query_id)
