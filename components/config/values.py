"""Parsers of single config values. Each reports problems under the key it was given and
returns None when the value is unusable, so parsing goes on and every problem is reported."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from ipaddress import AddressValueError, IPv4Address, IPv4Network, IPv6Address, IPv6Network, NetmaskValueError
from typing import Any

from .errors import Problems
from .model import AddressRange, IPAddress, IPNetwork, Secret

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_RFC1035_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_DURATION_PART = re.compile(r"([0-9]{1,6})(h|m|s)")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() also accepts "²"


def show(value: object) -> str:
    """A short, safe rendering of a user's value for an error message."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "a very long number"
    return text if len(text) <= 60 else text[:57] + "..."


def is_digits(text: str) -> bool:
    return _DIGITS.fullmatch(text) is not None


def _an_address(text: str) -> IPAddress | None:
    try:
        return IPv6Address(text) if ":" in text else IPv4Address(text)
    except AddressValueError:
        return None


def type_name(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def close_key(name: object, allowed: tuple[str, ...]) -> str | None:
    """The allowed key an unknown one was probably meant to be: the same but for case
    (``gatewaySSH``), else the closest by spelling; None when none is close."""
    text = str(name)
    same = [key for key in allowed if key.lower() == text.lower()]
    close = same or difflib.get_close_matches(text, allowed, n=1)
    return close[0] if close else None


def mapping(
    value: Any,
    key: str,
    problems: Problems,
    *,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """An object with exactly the allowed keys; unknown keys are errors (with a suggestion)."""
    if not isinstance(value, Mapping):
        problems.error(key, f"must be an object, got {type_name(value)}")
        return None
    allowed = (*required, *optional)
    for name in value:
        if name not in allowed:
            close = close_key(name, allowed)
            hint = f"did you mean '{close}'? " if close else ""
            problems.error(
                f"{key}.{name}",
                f"unknown key; {hint}allowed keys: {', '.join(sorted(allowed))}",
            )
    for name in required:
        if name not in value or value[name] is None:
            problems.error(f"{key}.{name}", "is required but missing")
    for name in optional:
        if name in value and value[name] is None:
            problems.error(f"{key}.{name}", "has no value; give one or remove the key to use the default")
    return dict(value)


def sequence(value: Any, key: str, problems: Problems, *, allow_empty: bool = True) -> list[Any] | None:
    if not isinstance(value, list):
        problems.error(key, f"must be a list, got {type_name(value)}")
        return None
    if not value and not allow_empty:
        problems.error(key, "must not be empty")
        return None
    return value


def string(value: Any, key: str, problems: Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.error(key, f"must be a non-empty string, got {type_name(value)}")
        return None
    return value.strip()


def boolean(value: Any, key: str, problems: Problems) -> bool | None:
    if not isinstance(value, bool):
        problems.error(key, f"must be true or false, got {type_name(value)}")
        return None
    return value


def integer(value: Any, key: str, problems: Problems, low: int, high: int, what: str = "") -> int | None:
    """A whole number in [low, high]. Integral floats are accepted (JSON tools produce them)."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and is_digits(value.strip()):
        number = int(value.strip())
    if number is None:
        problems.error(key, f"must be a whole number{what}, got {type_name(value)} {show(value)}")
        return None
    if not low <= number <= high:
        problems.error(key, f"{show(number)} is out of range: allowed {low}..{high}{what}")
        return None
    return number


def asn(value: Any, key: str, problems: Problems) -> int | None:
    number = integer(value, key, problems, 1, 4294967295, " (an AS number)")
    if number is not None and not (64512 <= number <= 65534 or 4200000000 <= number <= 4294967294):
        problems.warn(
            key,
            f"AS {number} is not a private AS number (64512-65534 or 4200000000-4294967294); "
            "a home lab normally uses a private one",
        )
    return number


def ipv4(value: Any, key: str, problems: Problems) -> IPv4Address | None:
    if not isinstance(value, str):
        problems.error(key, f"must be an IPv4 address like 192.168.1.1, got {type_name(value)}")
        return None
    try:
        return IPv4Address(value.strip())
    except AddressValueError:
        problems.error(key, f"'{value}' is not an IPv4 address (expected e.g. 192.168.1.1)")
        return None


def ipv6(value: Any, key: str, problems: Problems) -> IPv6Address | None:
    if not isinstance(value, str):
        problems.error(key, f"must be an IPv6 address like fd00:10::1, got {type_name(value)}")
        return None
    try:
        return IPv6Address(value.strip())
    except AddressValueError:
        problems.error(key, f"'{value}' is not an IPv6 address (expected e.g. fd00:10::1)")
        return None


def ip_address(value: Any, key: str, problems: Problems) -> IPAddress | None:
    """An address of either family."""
    if not isinstance(value, str):
        problems.error(key, f"must be an IP address like 192.168.1.1 or fd00:10::1, got {type_name(value)}")
        return None
    address = _an_address(value.strip())
    if address is None:
        family, example = ("IPv6", "fd00:10::1") if ":" in value else ("IPv4", "192.168.1.1")
        problems.error(key, f"'{value}' is not an {family} address (expected e.g. {example})")
    return address


def ipv4_network(value: Any, key: str, problems: Problems) -> IPv4Network | None:
    network = ip_network(value, key, problems, versions=(4,))
    return network if isinstance(network, IPv4Network) else None


def ipv6_network(value: Any, key: str, problems: Problems) -> IPv6Network | None:
    network = ip_network(value, key, problems, versions=(6,))
    return network if isinstance(network, IPv6Network) else None


def ip_network(value: Any, key: str, problems: Problems, versions: tuple[int, ...] = (4, 6)) -> IPNetwork | None:
    """A network in CIDR form without host bits, of one of ``versions``."""
    family = " or ".join(f"IPv{v}" for v in versions)
    example = " or ".join({4: "10.10.0.0/24", 6: "fd00:10::/64"}[v] for v in versions)
    if not isinstance(value, str) or "/" not in value:
        problems.error(key, f"must be an {family} network in CIDR form like {example}, got {show(value)}")
        return None
    text = value.strip()
    kind: type[IPv4Network] | type[IPv6Network] = IPv6Network if ":" in text else IPv4Network
    if (4 if kind is IPv4Network else 6) not in versions:
        problems.error(key, f"'{value}' is not an {family} network (expected e.g. {example})")
        return None
    try:
        return kind(text, strict=True)
    except ValueError as exc:
        try:
            loose = kind(text, strict=False)
        except (AddressValueError, NetmaskValueError, ValueError):
            written = "IPv4" if kind is IPv4Network else "IPv6"
            problems.error(key, f"'{value}' is not an {written} CIDR network ({exc})")
            return None
        problems.error(key, f"'{value}' has host bits set; did you mean {loose}?")
        return None


def address_range(value: Any, key: str, problems: Problems) -> AddressRange | None:
    """A CIDR prefix (10.10.10.0/24, fd00:100::/120) or an inclusive range of one family
    (10.10.10.10-10.10.10.250, fd00:100::10-fd00:100::ff)."""
    if not isinstance(value, str):
        problems.error(key, f"must be a CIDR or a range 'first-last', got {type_name(value)}")
        return None
    text = value.strip()
    if "-" in text:
        first_text, _, last_text = (part.strip() for part in text.partition("-"))
        first, last = _an_address(first_text), _an_address(last_text)
        if first is None or last is None:
            family = "IPv6" if ":" in text else "IPv4"
            problems.error(key, f"'{value}' is not a range of two {family} addresses 'first-last'")
            return None
        if first.version != last.version:
            # MetalLB parses such a range and then holds no address of it (its range-to-CIDR step
            # gives nothing for two families: mikioh/ipaddr Summarize), silently.
            problems.error(key, f"'{value}' mixes IPv{first.version} and IPv{last.version}; a range is of one family")
            return None
        if first > last:  # type: ignore[operator]  # one family, checked above
            problems.error(key, f"'{value}' is backwards: {first} comes after {last}")
            return None
        return AddressRange(f"{first}-{last}", first, last)
    if "/" in text:
        network = ip_network(text, key, problems)
        if network is None:
            return None
        return AddressRange(str(network), network.network_address, network.broadcast_address)
    problems.error(
        key,
        f"'{value}' is neither a CIDR nor a range; a single address is written {text}/{128 if ':' in text else 32}",
    )
    return None


def duration_seconds(value: Any, key: str, problems: Problems) -> int | None:
    """Whole seconds, written as a number or a Go duration of h/m/s units ("90s", "1m30s")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return integer(value, key, problems, 0, 65535, " of seconds")
    if isinstance(value, str):
        text = value.strip()
        if is_digits(text):
            return int(text)
        if text and _DURATION_PART.sub("", text) == "":
            factor = {"h": 3600, "m": 60, "s": 1}
            return sum(int(n) * factor[unit] for n, unit in _DURATION_PART.findall(text))
    problems.error(key, f"must be a duration in whole seconds like 90s, 1m30s or 90, got {show(value)}")
    return None


def sha256_hex(value: Any, key: str, problems: Problems) -> str | None:
    """A sha256 checksum: 64 hexadecimal digits (as ``sha256sum`` prints it)."""
    if not isinstance(value, str) or _SHA256.fullmatch(value.strip().lower()) is None:
        problems.error(key, f"must be a sha256 checksum of 64 hex digits (sha256sum FILE), got {show(value)}")
        return None
    return value.strip().lower()


def dns_label(value: Any, key: str, problems: Problems, *, what: str = "a DNS label") -> str | None:
    text = string(value, key, problems)
    if text is None:
        return None
    if not _DNS_LABEL.fullmatch(text):
        problems.error(
            key,
            f"{show(text)} is not {what}: 1-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
        )
        return None
    return text


def is_dns_label(text: str) -> bool:
    return _DNS_LABEL.fullmatch(text) is not None


def is_dns_name(text: str) -> bool:
    """Dot-separated DNS labels, at most 253 characters, the last not all digits."""
    labels = text.split(".")
    # An all-digit last label would read as an address (10.20.10.10), not as a name.
    return len(text) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdecimal()


def dns_name(value: Any, key: str, problems: Problems) -> str | None:
    """One or more DNS labels separated by dots (e.g. ``service`` or ``lab.example``)."""
    text = string(value, key, problems)
    if text is None:
        return None
    if not is_dns_name(text):
        problems.error(
            key,
            f"{show(text)} is not a DNS name: dot-separated labels of 1-63 lowercase letters, "
            "digits or '-', each starting and ending with a letter or digit, the last not all digits",
        )
        return None
    return text


def kubernetes_service_name(value: Any, key: str, problems: Problems) -> str | None:
    text = string(value, key, problems)
    if text is None:
        return None
    if not _RFC1035_LABEL.fullmatch(text):
        problems.error(
            key,
            f"{show(text)} is not a valid Kubernetes Service name: 1-63 lowercase letters, digits "
            "or '-', starting with a letter and ending with a letter or digit",
        )
        return None
    return text


def label_key(value: Any, key: str, problems: Problems) -> str | None:
    text = string(value, key, problems)
    if text is None:
        return None
    prefix, _, name = text.rpartition("/")
    prefix_ok = not prefix or (len(prefix) <= 253 and all(_DNS_LABEL.fullmatch(part) for part in prefix.split(".")))
    if not prefix_ok or not _LABEL_NAME.fullmatch(name):
        problems.error(key, f"{show(text)} is not a valid Kubernetes label key ([prefix/]name)")
        return None
    return text


def label_value(value: Any, key: str, problems: Problems) -> str | None:
    if isinstance(value, (bool, int, float)):
        problems.error(key, f"label values are strings; quote {show(value)}")
        return None
    if not isinstance(value, str) or (value and not _LABEL_NAME.fullmatch(value)):
        problems.error(key, f"{show(value)} is not a valid Kubernetes label value")
        return None
    return value


def labels(value: Any, key: str, problems: Problems) -> tuple[tuple[str, str], ...] | None:
    if not isinstance(value, Mapping):
        problems.error(key, f"must be an object of label: value, got {type_name(value)}")
        return None
    result = []
    for name, label in value.items():
        parsed_key = label_key(name, f"{key}.{name}", problems)
        parsed_value = label_value(label, f"{key}.{name}", problems)
        if parsed_key is not None and parsed_value is not None:
            result.append((parsed_key, parsed_value))
    return tuple(sorted(result))


def choice(value: Any, key: str, problems: Problems, allowed: tuple[str, ...]) -> str | None:
    if value not in allowed:
        problems.error(key, f"{show(value)} is not allowed; choose one of: {', '.join(allowed)}")
        return None
    return str(value)


def secret(raw: Any, key: str, problems: Problems) -> Secret | None:
    """A secret string. A stack file holds an encrypted secret as ``{secure: ...}``: only the
    Pulumi CLI can read it, so offline its value is unknown (None)."""
    if isinstance(raw, Mapping) and set(raw) == {"secure"}:
        return Secret(key=key, value=None)
    if not isinstance(raw, str) or not raw.strip():
        got = "an empty string" if isinstance(raw, str) else type_name(raw)
        problems.error(key, f"must be a string (set it with `pulumi config set --secret`), got {got}")
        return None
    return Secret(key=key, value=raw)
