"""HTTP session to a UniFi controller: flavors, login, CSRF tokens, retries and TLS trust.

Two flavors exist:

* classic controller (CloudKey Gen1, self-hosted, port 8443): ``POST /api/login``, cookie
  ``unifises``, Network API at ``/api/s/<site>/...``;
* UniFi OS console (CloudKey Gen2+, UDM, UCG, port 443): ``POST /api/auth/login``, cookie
  ``TOKEN`` plus an ``X-CSRF-Token`` header to send on writes (replaced whenever a response
  carries ``X-Updated-CSRF-Token``; some builds send no header and the token is only the
  ``csrfToken`` claim of the ``TOKEN`` JWT), Network API under ``/proxy/network``. An API key
  (``X-API-KEY``) may replace the login.

Flavor detection (``auto``) probes ``GET /``: 200 is UniFi OS, a redirect is classic, except
that newer UniFi OS firmware redirects too: a classic login refused in the UniFi OS way then
ends the run with "set flavor: unifi-os", after that one login attempt only (logins are
rate-limited, and failed ones count).

TLS trust is one of: a CA file, CA PEM text (``UNIFI_CA_CERT``), a pinned SHA-256 fingerprint
of the server's leaf certificate, ``insecure``, or the system/`requests` default. ``verify=``
is passed on every request because ``REQUESTS_CA_BUNDLE`` overrides ``session.verify``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import requests
import urllib3
from requests.adapters import HTTPAdapter

from components.contract import API_KEY_ENV, CA_CERT_ENV, PASSWORD_ENV, USERNAME_ENV
from components.unifi.errors import (
    ApiError,
    CredentialsError,
    NotUnifiOsError,
    RateLimitedError,
    TlsError,
    UnknownSiteError,
    UnreachableError,
    UsageError,
    V2ApiError,
)

Flavor = Literal["classic", "unifi-os"]
FlavorChoice = Literal["auto", "classic", "unifi-os"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def normalize_fingerprint(text: str) -> str:
    """``AB:CD:...`` or ``abcd...`` (64 hex digits, SHA-256) → lowercase hex without colons."""
    cleaned = text.strip().lower().replace(":", "").replace(" ", "")
    if cleaned.startswith("sha256"):
        cleaned = cleaned.removeprefix("sha256").lstrip("=/")
    if not _HEX64.match(cleaned):
        raise UsageError("--fingerprint must be a SHA-256 fingerprint: 64 hex digits, colons allowed")
    return cleaned


class FingerprintAdapter(HTTPAdapter):
    """Accept exactly the server certificate whose DER SHA-256 fingerprint is pinned.

    urllib3 checks ``assert_fingerprint`` against the leaf certificate after the handshake,
    independent of chain verification (which is off: the pin replaces CA trust).
    """

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


@dataclass(frozen=True)
class TlsTrust:
    """How to trust the controller's certificate: at most one of the fields is set."""

    ca_file: str | None = None
    ca_pem: str | None = None
    fingerprint: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    api_key: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        api_key = env.get(API_KEY_ENV) or None
        username = env.get(USERNAME_ENV) or None
        password = env.get(PASSWORD_ENV) or None
        if api_key is None and (username is None or password is None):
            raise CredentialsError("set UNIFI_USERNAME and UNIFI_PASSWORD, or UNIFI_API_KEY")
        return cls(username=username, password=password, api_key=api_key)

    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.api_key) if s]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries on connection errors and 5xx, with exponential backoff; login 429s are
    ridden out for ``login_wait`` seconds in all.

    A UDM's login limit lasts about 45 s and its 429 carries no Retry-After; go-unifi waits
    1, 2, 4, … capped at 30 s over 8 attempts, about 90 s in all
    (ubiquiti-community/go-unifi@b2bf4ce:unifi/unifi.go, loginRetryMax and loginRetryBackoff).
    """

    attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    login_wait: float = 90.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.backoff * (2**attempt)))


_NO_SITE: Final = "api.err.NoSiteContext"
# Classic 2FA (aiounifi's ERRORS: api.err.Ubic2faTokenRequired) and UniFi OS MFA (HTTP 499,
# Kane610/aiounifi@4ba00ff:aiounifi/interfaces/connectivity.py, HTTP_STATUS_MFA_REQUIRED).
_MFA_MSG: Final = "api.err.Ubic2faTokenRequired"
HTTP_MFA_REQUIRED: Final = 499
_MFA_HINT: Final = (
    "this account needs a second factor (MFA), which a script cannot give: use a local account without MFA "
    "(UNIFI_USERNAME/UNIFI_PASSWORD), or an API key (UNIFI_API_KEY, UniFi OS only)"
)
_SITE_IN_PATH = re.compile(r"/(?:api/s|v2/api/site)/([^/]+)(?:/|$)")


def jwt_csrf_claim(token: str) -> str | None:
    """The ``csrfToken`` claim of a ``TOKEN`` cookie (a JWT), which some UniFi OS builds send
    instead of an ``X-CSRF-Token`` header (Art-of-WiFi/UniFi-API-client@acc7835:src/Client.php,
    create_x_csrf_token_header). The signature is the console's business: only read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    claim = claims.get("csrfToken") if isinstance(claims, dict) else None
    return claim if isinstance(claim, str) and claim else None


def _json_body(response: requests.Response) -> Any:
    with contextlib.suppress(ValueError):
        return response.json()
    return None


def _meta_msg(response: requests.Response) -> str | None:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            meta = body.get("meta")
            if isinstance(meta, dict) and isinstance(meta.get("msg"), str):
                return str(meta["msg"])
            for key in ("code", "message"):
                if isinstance(body.get(key), str):
                    return str(body[key])
    return None


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    if "Fingerprints did not match" in text:
        return "server certificate does not match the pinned --fingerprint"
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = "self-signed or unknown CA" if "self" in text or "issuer" in text else "verification failed"
        if "hostname" in text.lower() or "IP address mismatch" in text:
            detail = "certificate does not match the host name"
        return f"certificate not trusted ({detail}); use --ca-file, UNIFI_CA_CERT or --fingerprint"
    return "handshake failed"


class ControllerClient:
    """A logged-in session to one controller; use as a context manager."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        flavor: FlavorChoice = "auto",
        trust: TlsTrust | None = None,
        request_timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.base_url = url.rstrip("/")
        if not self.base_url.startswith(("https://", "http://")):
            raise UsageError(f"--url must start with https:// (got {url!r})")
        self.credentials = credentials
        self.flavor_choice: FlavorChoice = flavor
        self.trust = trust or TlsTrust()
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._log = log
        self._flavor: Flavor | None = None
        self._csrf: str | None = None
        self._csrf_from_jwt = False
        self._probe_redirected = False  # auto: GET / redirected, as classic and newer UniFi OS do
        self._logged_in = False
        self._tmp_ca: str | None = None
        self.session = requests.Session()
        self._verify: bool | str = self._setup_tls()
        if credentials.api_key and flavor == "classic":
            raise CredentialsError("API keys exist on UniFi OS consoles only; use username/password for classic")

    # ----- TLS -----------------------------------------------------------------------------
    def _setup_tls(self) -> bool | str:
        trust = self.trust
        if trust.fingerprint:
            self.session.mount("https://", FingerprintAdapter(normalize_fingerprint(trust.fingerprint)))
            return False
        if trust.ca_file:
            if not os.path.isfile(trust.ca_file):
                raise TlsError(f"CA file {trust.ca_file!r} not found")
            return trust.ca_file
        if trust.ca_pem:
            try:
                ssl.create_default_context(cadata=trust.ca_pem)
            except (ssl.SSLError, ValueError) as exc:
                raise TlsError(f"{CA_CERT_ENV} does not hold a usable PEM certificate") from exc
            fd, path = tempfile.mkstemp(prefix="unifi-ca-", suffix=".pem")
            with os.fdopen(fd, "w", encoding="ascii", errors="replace") as handle:
                handle.write(trust.ca_pem)
            self._tmp_ca = path
            return path
        if trust.insecure:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            return False
        return True

    def close(self) -> None:
        self.session.close()
        if self._tmp_ca:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp_ca)
            self._tmp_ca = None

    def __enter__(self) -> ControllerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ----- transport -----------------------------------------------------------------------
    def _send(self, method: str, path: str, *, json_body: Any = None, follow: bool = True) -> requests.Response:
        """One request with bounded retries on connection errors and 5xx; maps TLS errors."""
        url = self.base_url + path
        headers: dict[str, str] = {"Accept": "application/json"}
        if self.credentials.api_key and self._flavor == "unifi-os":
            headers["X-API-KEY"] = self.credentials.api_key
        unifi_os_write = method != "GET" and self._flavor == "unifi-os" and not self.credentials.api_key
        if unifi_os_write and (self._csrf is None or self._csrf_from_jwt):
            self._csrf_from_cookie()  # the cookie may have been renewed since
        if self._csrf and method != "GET":
            headers["X-CSRF-Token"] = self._csrf
        last: str = ""
        for attempt in range(self.retry.attempts):
            if attempt:
                delay = self.retry.delay(attempt - 1)
                self._log(f"retrying {method} {path} in {delay:g}s ({last})")
                self._sleep(delay)
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json_body,
                    headers=headers,
                    verify=self._verify,
                    timeout=self.request_timeout,
                    allow_redirects=follow,
                )
            except requests.exceptions.SSLError as exc:
                raise TlsError(f"{self.base_url}: {_tls_reason(exc)}") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                last = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "connection failed"
                continue
            updated = response.headers.get("X-Updated-CSRF-Token")
            if updated:
                self._csrf, self._csrf_from_jwt = updated, False
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            return response
        raise UnreachableError(f"{self.base_url} ({last} after {self.retry.attempts} attempts)")

    # ----- flavor and login ----------------------------------------------------------------
    @property
    def flavor(self) -> Flavor:
        if self._flavor is None:
            self._flavor = self._detect_flavor()
        return self._flavor

    def _detect_flavor(self) -> Flavor:
        if self.flavor_choice != "auto":
            return self.flavor_choice
        if self.credentials.api_key:
            return "unifi-os"  # API keys exist on UniFi OS only
        # 200 is UniFi OS, 302 classic (ubiquiti-community/go-unifi@b2bf4ce:unifi/unifi.go, setAPIUrlStyle;
        # Kane610/aiounifi@4ba00ff:aiounifi/interfaces/connectivity.py, check_unifi_os); newer UniFi OS
        # firmware answers 302 as well (the same setAPIUrlStyle comment), which login() then tells apart.
        response = self._send("GET", "/", follow=False)
        if response.status_code == 200:
            return "unifi-os"
        if response.status_code in (301, 302, 303, 307, 308):
            self._probe_redirected = True
            return "classic"
        raise ApiError(f"cannot detect the controller flavor (GET / answered {response.status_code}); use --flavor")

    @property
    def api_prefix(self) -> str:
        return "/proxy/network" if self.flavor == "unifi-os" else ""

    def _csrf_from_cookie(self) -> None:
        token = self.session.cookies.get("TOKEN")
        claim = jwt_csrf_claim(token) if isinstance(token, str) else None
        if claim:
            self._csrf, self._csrf_from_jwt = claim, True

    def _post_login(self, path: str, body: dict[str, Any]) -> requests.Response:
        """The login POST, riding out 429s for ``retry.login_wait`` seconds in all, saying how long."""
        waited, attempt, attempts = 0.0, 0, 0
        while True:
            response = self._send("POST", path, json_body=body)
            attempts += 1
            if response.status_code != 429:
                return response
            left = self.retry.login_wait - waited
            if left <= 0:
                raise RateLimitedError(
                    f"{self.base_url} refused {attempts} logins with HTTP 429 ({_meta_msg(response) or 'no code'}) "
                    f"over {waited:g}s; logins, successful ones included, are limited: wait a few minutes and retry"
                )
            delay = self.retry.delay(attempt)
            with contextlib.suppress(ValueError):
                delay = max(delay, float(response.headers.get("Retry-After", "")))
            delay = min(delay, left)
            until = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
            give_up = time.strftime("%H:%M:%S", time.localtime(time.time() + left))
            self._log(
                f"login rate-limited (HTTP 429 {_meta_msg(response) or ''}".rstrip()
                + f"): waiting {delay:g}s, until {until} (giving up at {give_up})"
            )
            self._sleep(delay)
            waited += delay
            attempt += 1

    def login(self) -> None:
        """Log in (no-op with an API key), riding out the login rate limit."""
        flavor = self.flavor
        if self.credentials.api_key:
            self._logged_in = True
            return
        path = "/api/auth/login" if flavor == "unifi-os" else "/api/login"
        body: dict[str, Any] = {"username": self.credentials.username, "password": self.credentials.password}
        if flavor == "unifi-os":
            body["rememberMe"] = False
        self._csrf, self._csrf_from_jwt = None, False
        self.session.cookies.clear()
        response = self._post_login(path, body)
        msg = _meta_msg(response)
        if response.status_code == HTTP_MFA_REQUIRED or msg == _MFA_MSG:
            raise CredentialsError(f"login to {self.base_url}: {_MFA_HINT}")
        if flavor == "classic" and self._probe_redirected and _unifi_os_refusal(response):
            # A classic controller refuses with {"meta": ...} (400 api.err.Invalid); this answer is
            # UniFi OS's {"code", "message"}. One login spent, no second guess: failed logins count
            # towards the rate limit.
            raise ApiError(
                f"{self.base_url} answered GET / with a redirect like a classic controller, but refused the classic "
                f"login the UniFi OS way (HTTP {response.status_code}, {msg or 'no code'}): newer UniFi OS firmware "
                "does this; set flavor: unifi-os (--flavor unifi-os)"
            )
        if response.status_code in (400, 401, 403):
            raise CredentialsError(f"login refused by {self.base_url} ({msg or f'HTTP {response.status_code}'})")
        if response.status_code == 404:
            raise ApiError(f"{path} not found: wrong --flavor or not a UniFi controller")
        if response.status_code != 200:
            raise ApiError(f"login answered HTTP {response.status_code}")
        if flavor == "unifi-os":
            token = response.headers.get("X-CSRF-Token") or response.headers.get("X-Updated-CSRF-Token")
            if token:
                self._csrf = token
            else:
                self._csrf_from_cookie()
        self._logged_in = True

    # ----- sites ---------------------------------------------------------------------------
    def list_sites(self) -> list[tuple[str, str]] | None:
        """The sites this account can see, as (short name, display name): ``GET /api/self/sites``
        (Kane610/aiounifi@4ba00ff:aiounifi/models/site.py; fields as in its tests/fixtures.py SITE_RESPONSE)."""
        response = self._send("GET", self.api_prefix + "/api/self/sites")
        body = _json_body(response)
        data = body.get("data") if isinstance(body, dict) else body
        if response.status_code != 200 or not isinstance(data, list):
            return None  # not allowed to list them, or not this shape
        return [
            (str(item.get("name", "")), str(item.get("desc", "")))
            for item in data
            if isinstance(item, dict) and item.get("name")
        ]

    def _unknown_site(self, site: str, sites: list[tuple[str, str]] | None = None) -> UnknownSiteError:
        sites = sites if sites is not None else (self.list_sites() or [])
        shown = ", ".join(f"{name} (shown as {desc!r})" for name, desc in sites) or "none listed"
        hint = ""
        for name, desc in sites:
            if desc.lower() == site.lower() and name != site:
                hint = f"; {site!r} is the display name of site {name!r}: use --site {name}"
        return UnknownSiteError(
            f"the controller has no site {site!r} (the site's short name is needed, not the name shown in the UI)"
            f"{hint}; sites this account can see: {shown}"
        )

    def _site_of(self, path: str) -> str | None:
        match = _SITE_IN_PATH.search(path)
        return match.group(1) if match else None

    # ----- Network API ---------------------------------------------------------------------
    def _authorized(self, method: str, path: str, json_body: Any) -> requests.Response:
        """``path`` under the Network API prefix, logged in; re-logs in once when the session
        expired (401; 403 too on a UniFi OS session, where a stale CSRF token is refused that way).

        An unknown site is answered with 401 ``api.err.NoSiteContext`` (hobbyquaker/unifi2mqtt#12,
        mnederlof/com.ubnt.unifi#25; HTTP 200 with that ``meta`` in go-unifi's
        unifi/site_health_test.go): that is no expired session, and it costs no second login."""
        if not self._logged_in:
            self.login()
        relogged = False
        site = self._site_of(path)
        while True:
            response = self._send(method, self.api_prefix + path, json_body=json_body)
            if site is not None and _NO_SITE in (_meta_msg(response) or "", *_v2_error(response)):
                raise self._unknown_site(site)
            expired = response.status_code == 401 or (
                response.status_code == 403 and self.flavor == "unifi-os" and not self.credentials.api_key
            )
            if expired and not relogged and not self.credentials.api_key:
                self._log("session expired, logging in again")
                self.login()
                relogged = True
                continue
            if response.status_code in (401, 403):
                sites = self.list_sites() if site is not None else None
                if site is not None and sites is not None and site not in {name for name, _ in sites}:
                    raise self._unknown_site(site, sites)
                refusal = _meta_msg(response) or f"HTTP {response.status_code}"
                what = "API key refused" if self.credentials.api_key else "not authorized"
                raise CredentialsError(f"{what} for {method} {path} ({refusal})")
            return response

    def api(self, method: str, path: str, json_body: Any = None) -> list[Any]:
        """Call the Network API (``path`` like ``/api/s/default/stat/device``); returns ``data``."""
        response = self._authorized(method, path, json_body)
        msg = _meta_msg(response)
        if response.status_code != 200:
            raise ApiError(f"{method} {path} answered HTTP {response.status_code} ({msg or 'no message'})")
        try:
            body = response.json()
        except ValueError:
            raise ApiError(f"{method} {path} did not answer JSON") from None
        meta = body.get("meta") if isinstance(body, dict) else None
        if isinstance(meta, dict) and meta.get("rc") not in (None, "ok"):
            raise ApiError(f"{method} {path}: {meta.get('msg', 'error')}")
        data = body.get("data", []) if isinstance(body, dict) else body
        return list(data) if isinstance(data, list) else [data]

    def require_unifi_os(self) -> None:
        """Refuse a classic controller (detected, or forced with ``--flavor classic``)."""
        if self.flavor != "unifi-os":
            raise NotUnifiOsError(
                f"{self.base_url} is a classic controller: a gateway's BGP config and DNS records need a UniFi OS "
                "console (UDM, UCG, UXG); use --flavor unifi-os if it is one that answers like a classic controller"
            )

    def network_v2(self, method: str, path: str, json_body: Any = None) -> Any:
        """Call the Network v2 API of a UniFi OS console (``path`` like
        ``/v2/api/site/default/bgp/config``): plain JSON, no ``meta``/``data`` envelope.

        Returns the decoded body (None when empty); a 4xx raises ``V2ApiError`` with the
        answer's ``code`` (e.g. ``api.err.BgpUnsupportedDevice``). Classic controllers are
        refused before any request of this kind.
        """
        self.require_unifi_os()
        response = self._authorized(method, path, json_body)
        if response.status_code >= 300:
            code, message = _v2_error(response)
            raise V2ApiError(method, path, response.status_code, code, message)
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"{method} {path} did not answer JSON") from None


def _unifi_os_refusal(response: requests.Response) -> bool:
    """A login refusal in UniFi OS's envelope (``{"code": "AUTHENTICATION_FAILED", …}``), not classic's ``meta``."""
    body = _json_body(response)
    return response.status_code in (401, 403, 404) and not (isinstance(body, dict) and "meta" in body)


def _v2_error(response: requests.Response) -> tuple[str | None, str | None]:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            code, message = body.get("code"), body.get("message")
            return (code if isinstance(code, str) else None, message if isinstance(message, str) else None)
    return None, None
