"""A stand-in UniFi controller: HTTPS on loopback, classic or UniFi OS flavor, answering in
the shapes real controllers answer as the widely used clients record them. Each shape names its
source next to it; "assumed" marks the few that no source records.

It covers what the client must cope with: flavor detection (``GET /`` 200 vs 302, or a UniFi
OS console answering 302 like newer firmware), both logins, their bodies and cookies
(``unifises`` / ``TOKEN``, a JWT carrying ``csrfToken``, with ``partitioned``), the error
envelopes (classic ``{"meta": {"rc": "error", "msg": "api.err.…"}}``, UniFi OS and v2
``{"code", "message", …}``), CSRF tokens rotated through ``X-Updated-CSRF-Token`` or sent only
inside the JWT (writes with a stale token get 403), API keys, a session that expires once (401),
the login rate limit (429 with no Retry-After), MFA (499), unknown sites (401
``api.err.NoSiteContext``) and ``/api/self/sites``, transient 502s, and a gateway that lags
before provisioning, never comes back, never starts, or is missing; or one that never comes back
only while a given ``config.gateway.json`` holds given bad content (read at each force-provision,
like a real USG gets it then). The certificate is self-signed (made with the ``openssl`` CLI).

UniFi OS consoles also serve the Network v2 API (``/proxy/network/v2/api/site/<site>/``):
``bgp/config`` (GET: a list, empty without one; POST creates or replaces it whole, 201; DELETE
removes it; PUT refused with 405; without a BGP-capable gateway GET answers ``[]`` and POST 404
``api.err.BgpUnsupportedDevice``, or every call does with ``bgp_unsupported_on_get``) and
``static-dns[/<id>]`` (list, POST, PUT unless ``dns_put_refused``, DELETE; A and AAAA records
alike, each value an address of its type; a second record with the same key and type is
refused, an A and an AAAA record of one key are not: assumed, no API fixture with AAAA records
was found). Pre-existing "foreign" objects come from the scenario; every v2 write
is counted.
"""

from __future__ import annotations

import base64
import hashlib
import http.cookies
import ipaddress
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.tls import self_signed_certificate
from tests.unifi.sshd import SshServer, start_sshd, stop_sshd

REPO = Path(__file__).resolve().parents[2]
GATEWAY_MAC = "f0:9f:c2:00:00:01"
OLD_CFG = "cfg-old-0001"
NEW_CFG = "cfg-new-0002"
# How an FRR config line starts (the stand-in's check of an uploaded BGP text).
_FRR_STARTS = ("!", "router ", "ip ", "ipv6 ", "route-map ", "bfd", "frr ", "hostname ", "log ", "line ", "interface ")


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, "AB:CD:..." like openssl prints it


@dataclass(frozen=True)
class Certs:
    server: Cert
    other: Cert  # another self-signed certificate, trusted by nobody here


def _make_cert(directory: Path, name: str) -> Cert:
    cert, key = self_signed_certificate(directory, name)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    return Cert(cert, key, ":".join(digest[i : i + 2] for i in range(0, 64, 2)))


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make a self-signed certificate")
    directory = tmp_path_factory.mktemp("unifi-certs")
    return Certs(server=_make_cert(directory, "server"), other=_make_cert(directory, "other"))


@dataclass
class Scenario:
    flavor: str = "classic"  # "classic" | "unifi-os"
    probe_redirects: bool = False  # UniFi OS answering GET / with 302 like newer firmware
    username: str = "admin"
    password: str = "Pa55-w0rd-do-not-print"
    api_key: str | None = None
    site: str = "default"
    sites: tuple[tuple[str, str], ...] = (("default", "Default"),)  # (name, desc) of /api/self/sites
    csrf_header: bool = True  # False: the UniFi OS login sends the CSRF token only inside the TOKEN JWT
    mfa: bool = False  # the account needs MFA: the UniFi OS login answers 499
    gateway: bool = True
    gateway_type: str = "ugw"
    lag_polls: int = 2  # polls reporting state 1 + old cfgversion after the command
    provisioning_polls: int = 2  # then polls reporting state 5
    stuck: bool = False  # stays 5 forever
    never_starts: bool = False  # stays 1 + old cfgversion forever
    expire_session_once: bool = False  # the 2nd device listing gets 401 and the session is dropped
    rate_limited_logins: int = 0  # this many logins answered 429 first
    fail_5xx: int = 0  # this many device listings answered 502 first
    rotate_csrf: bool = True
    config_file: Path | None = None  # the controller's live config.gateway.json
    bad_config: bytes | None = None  # a provision while config_file holds this never comes back
    bad_config_stuck: bool = True  # that gateway stays in state 5 (else: stays 1 with the old cfgversion)
    # Network v2 API (UniFi OS)
    bgp_supported: bool = True  # False: GET bgp/config answers [], POST 404 api.err.BgpUnsupportedDevice
    bgp_unsupported_on_get: bool = False  # with bgp_supported False: the GET answers that 404 too
    bgp_config: dict[str, Any] | None = None  # the site's BGP config before the test
    bgp_get_as_object: bool = False  # GET bgp/config answers the object (404 without one), not the list
    # Another writer: right after the n-th GET of bgp/config is answered, the config becomes the
    # n-th entry (None: no change then), as if another stack's run or the UI wrote it meanwhile.
    bgp_after_gets: tuple[dict[str, Any] | None, ...] = ()
    dns_put_refused: bool = False  # PUT static-dns/<id> answers 405 (consoles without PUT)
    dns_records: list[dict[str, Any]] = field(default_factory=list)  # records before the test (with their _id)
    expire_v2_session_once: bool = False  # the first v2 request gets 401 and the session is dropped
    fail_dns_create: int | None = None  # the n-th record POST (1-based) answers 400


@dataclass
class Stats:
    logins: int = 0
    login_attempts: int = 0
    rate_limited: int = 0
    expired: int = 0
    csrf_rotations: int = 0
    stale_csrf_rejections: int = 0
    commands: list[dict[str, Any]] = field(default_factory=list)
    write_csrf_tokens: list[str | None] = field(default_factory=list)
    polls_after_command: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    headers_seen: list[str] = field(default_factory=list)
    provisioned_configs: list[bytes | None] = field(default_factory=list)  # config_file at each command
    v2_writes: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of accepted v2 writes
    v2_bodies: list[Any] = field(default_factory=list)  # the bodies of all v2 writes sent
    v2_requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, resource, body) of every write
    dns_creates: int = 0
    login_bodies: list[Any] = field(default_factory=list)
    site_lists: int = 0


class FakeController:
    def __init__(self, scenario: Scenario, cert: Cert) -> None:
        self.scenario = scenario
        self.stats = Stats()
        self.lock = threading.Lock()
        self.sessions: set[str] = set()
        self.csrf: str | None = None
        self.commanded = False
        self.provisions = 0
        self.cfg = OLD_CFG  # the config version the gateway runs
        self.failing = False  # the current provision never comes back (bad config)
        self.api_calls = 0
        self.bgp: dict[str, Any] | None = dict(scenario.bgp_config) if scenario.bgp_config is not None else None
        self.bgp_gets = 0
        self.dns: dict[str, dict[str, Any]] = {str(r["_id"]): dict(r) for r in scenario.dns_records}
        self.next_id = 0
        controller = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                controller.handle(self, "GET")

            def do_POST(self) -> None:
                controller.handle(self, "POST")

            def do_PUT(self) -> None:
                controller.handle(self, "PUT")

            def do_DELETE(self) -> None:
                controller.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.cert), str(cert.key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # ----- HTTP plumbing -------------------------------------------------------------------
    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        payload = (json.dumps(body) if content_type == "application/json" else str(body)).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _error(msg: str) -> dict[str, Any]:
        return {"meta": {"rc": "error", "msg": msg}, "data": []}

    def _cookie_name(self) -> str:
        return "TOKEN" if self.scenario.flavor == "unifi-os" else "unifises"

    def _session_of(self, handler: BaseHTTPRequestHandler) -> str | None:
        jar = http.cookies.SimpleCookie(handler.headers.get("Cookie", ""))
        morsel = jar.get(self._cookie_name())
        return morsel.value if morsel is not None and morsel.value in self.sessions else None

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = handler.path.split("?", 1)[0]
        with self.lock:
            self.stats.requests.append((method, path))
            self.stats.headers_seen.append(str(handler.headers))
            self._route(handler, method, path, raw)

    def _route(self, handler: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> None:
        sc = self.scenario
        unifi_os = sc.flavor == "unifi-os"
        if path == "/" and method == "GET":
            if unifi_os and not sc.probe_redirects:
                # 200 text/html (Kane610/aiounifi@4ba00ff:tests/test_controller.py, test_check_unifi)
                self._reply(handler, 200, "<html>UniFi OS</html>", content_type="text/html")
            else:
                # classic: 302 to /manage (ubiquiti-community/go-unifi@b2bf4ce:unifi/unifi.go, setAPIUrlStyle);
                # newer UniFi OS firmware answers 302 too (same place); its Location is assumed
                location = "/login" if unifi_os else "/manage"
                self._reply(handler, 302, "", {"Location": location}, "text/html")
            return
        if unifi_os and path == "/api/login" and method == "POST":
            # UniFi OS refuses the classic login with 403 in its own envelope (issue 10 item 3; body assumed)
            self.stats.login_attempts += 1
            self._reply(handler, 403, self._os_error("AUTHENTICATION_FAILED", "Invalid username or password"))
            return
        login_path = "/api/auth/login" if unifi_os else "/api/login"
        if path == login_path and method == "POST":
            self._login(handler, raw)
            return
        prefix = "/proxy/network" if unifi_os else ""
        if unifi_os and path.startswith("/proxy/network/v2/api/site/"):
            self._v2(handler, method, path.removeprefix("/proxy/network/v2/api/site/"), raw)
            return
        if path == prefix + "/api/self/sites" and method == "GET":
            self._sites(handler)
            return
        if not path.startswith(prefix + "/api/s/"):
            self._reply(handler, 404, self._error("api.err.NotFound"))
            return
        self._api(handler, method, path.removeprefix(prefix), raw)

    @staticmethod
    def _os_error(code: str, message: str) -> dict[str, Any]:
        # UniFi OS login errors: {"code", "message"} (Kane610/aiounifi@4ba00ff:tests/test_controller.py,
        # test_controller_authentication_rate_limit_error)
        return {"code": code, "message": message}

    def _sites(self, handler: BaseHTTPRequestHandler) -> None:
        if self._session_of(handler) is None and not self._by_key(handler):
            self._reply(handler, 401, self._error("api.err.LoginRequired"))
            return
        self.stats.site_lists += 1
        # Kane610/aiounifi@4ba00ff:tests/fixtures.py, SITE_RESPONSE
        data = [
            {
                "_id": f"5e231c10931eb902acf2{i:04x}",
                "name": name,
                "desc": desc,
                "attr_hidden_id": name,
                "attr_no_delete": name == "default",
                "role": "admin",
            }
            for i, (name, desc) in enumerate(self.scenario.sites)
        ]
        self._reply(handler, 200, {"meta": {"rc": "ok"}, "data": data})

    def _by_key(self, handler: BaseHTTPRequestHandler) -> bool:
        sc = self.scenario
        return sc.flavor == "unifi-os" and sc.api_key is not None and handler.headers.get("X-API-KEY") == sc.api_key

    def _token(self) -> str:
        """A TOKEN cookie shaped like UniFi OS's: a JWT whose claims hold ``csrfToken``
        (Art-of-WiFi/UniFi-API-client@acc7835:src/Client.php, create_x_csrf_token_header). Unsigned here."""

        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        claims = {"userId": secrets.token_hex(8), "csrfToken": self.csrf, "iat": 1700000000, "exp": 1900000000}
        return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(16)}"

    def _login(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        sc = self.scenario
        self.stats.login_attempts += 1
        body = json.loads(raw or b"{}")
        self.stats.login_bodies.append({k: v for k, v in body.items() if k != "password"})
        if self.stats.rate_limited < sc.rate_limited_logins:
            self.stats.rate_limited += 1
            # 429, no Retry-After (go-unifi unifi/login_test.go: "as a real UDM-Pro does"); body from
            # Kane610/aiounifi@4ba00ff:tests/test_controller.py
            self._reply(
                handler,
                429,
                self._os_error("AUTHENTICATION_FAILED_LIMIT_REACHED", "You've reached the login attempt limit"),
            )
            return
        if body.get("username") != sc.username or body.get("password") != sc.password:
            if sc.flavor == "unifi-os":
                self._reply(handler, 403, self._os_error("AUTHENTICATION_FAILED", "Invalid username or password"))
            else:
                # 400 api.err.Invalid (Kane610/aiounifi@4ba00ff:tests/test_controller.py, test_data)
                self._reply(handler, 400, self._error("api.err.Invalid"))
            return
        if sc.flavor == "unifi-os" and sc.mfa:
            # 499 with an MFA cookie to answer with a code (Kane610/aiounifi@4ba00ff:tests/test_2fa.py)
            self._reply(handler, 499, {"data": {"mfaCookie": "UBIC_2FA=abc123def456"}, "meta": {"msg": "", "rc": "ok"}})
            return
        self.stats.logins += 1
        if sc.flavor == "unifi-os":
            self.csrf = secrets.token_hex(8)
            token = self._token()
            self.sessions.add(token)
            # TOKEN carries partitioned (Kane610/aiounifi@4ba00ff:aiounifi/interfaces/connectivity.py patches
            # http.cookies for it)
            headers = {"Set-Cookie": f"TOKEN={token}; path=/; samesite=none; secure; httponly; partitioned"}
            if sc.csrf_header:
                headers["X-CSRF-Token"] = self.csrf
            # part of Kane610/aiounifi@4ba00ff:tests/fixtures.py, LOGIN_UNIFIOS_JSON_RESPONSE
            answer = {
                "unique_id": "868d288b-a642-4209-a768-8425498fa928",
                "username": sc.username,
                "status": "ACTIVE",
                "local_account_exist": True,
                "isOwner": False,
                "isSuperAdmin": True,
            }
            self._reply(handler, 200, answer, headers)
        else:
            token = secrets.token_hex(16)
            self.sessions.add(token)
            headers = {"Set-Cookie": f"unifises={token}; Path=/; Secure; HttpOnly"}
            # Kane610/aiounifi@4ba00ff:tests/test_controller.py, test_login
            self._reply(handler, 200, {"meta": {"rc": "ok"}, "data": []}, headers)

    def _gateway(self) -> dict[str, Any]:
        sc = self.scenario
        state, cfg = 1, self.cfg
        if self.commanded:
            self.stats.polls_after_command += 1
            n = self.stats.polls_after_command
            if self.failing:
                state = 5 if sc.bad_config_stuck else 1
            elif sc.never_starts or n <= sc.lag_polls:
                state = 1
            elif sc.stuck or n <= sc.lag_polls + sc.provisioning_polls:
                state = 5
            else:
                # NEW_CFG after the first provision, then cfg-new-0003, ...
                self.cfg = cfg = NEW_CFG if self.provisions == 1 else f"cfg-new-{self.provisions + 1:04d}"
                self.commanded = False
        # The fields of Kane610/aiounifi@4ba00ff:tests/fixtures.py GATEWAY_USG3 the client reads, and a
        # few beside them (that fixture has ~300)
        return {
            "_id": "5a4c0cc1e4b0f3665471969a",
            "adopted": True,
            "cfgversion": cfg,
            "config_network": {"ip": "192.168.0.1", "type": "dhcp"},
            "ip": "1.2.3.4",
            "mac": GATEWAY_MAC,
            "model": "UGW3",
            "name": "USG",
            "state": state,
            "type": sc.gateway_type,
            "version": "4.4.44.5213844",
        }

    def _api(self, handler: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> None:
        sc = self.scenario
        by_key = self._by_key(handler)
        session = self._session_of(handler)
        if not by_key and session is None:
            self._reply(handler, 401, self._error("api.err.LoginRequired"))
            return
        parts = path.split("/")  # ["", "api", "s", site, ...]
        site, rest = parts[3], "/".join(parts[4:])
        headers: dict[str, str] = {}
        if method == "POST" and not by_key and sc.flavor == "unifi-os":
            sent = handler.headers.get("X-CSRF-Token")
            self.stats.write_csrf_tokens.append(sent)
            if sent != self.csrf:
                self.stats.stale_csrf_rejections += 1
                self._reply(handler, 403, self._error("api.err.InvalidCSRFToken"))
                return
        if site != sc.site:
            # 401 api.err.NoSiteContext (hobbyquaker/unifi2mqtt#12, mnederlof/com.ubnt.unifi#25)
            self._reply(handler, 401, self._error("api.err.NoSiteContext"))
            return
        if rest == "stat/device" and method == "GET":
            self.api_calls += 1
            if sc.expire_session_once and self.api_calls == 2 and not self.stats.expired and not by_key:
                self.stats.expired += 1
                self.sessions.clear()
                self._reply(handler, 401, self._error("api.err.LoginRequired"))
                return
            if sc.fail_5xx > 0:
                sc.fail_5xx -= 1
                self._reply(handler, 502, "<html>Bad Gateway</html>", content_type="text/html")
                return
            if sc.flavor == "unifi-os" and sc.rotate_csrf and sc.csrf_header and not by_key:
                self.csrf = secrets.token_hex(8)
                self.stats.csrf_rotations += 1
                headers["X-Updated-CSRF-Token"] = self.csrf
            # a switch and an access point beside the gateway (types, models and names as in
            # Kane610/aiounifi@4ba00ff:tests/fixtures.py SWITCH_16_PORT_POE and ACCESS_POINT_AC_PRO)
            devices: list[dict[str, Any]] = [
                {
                    "_id": "5b8457a9e4b01dd29e9f1578",
                    "adopted": True,
                    "cfgversion": "6381f86fdd573e1e",
                    "mac": "fc:ec:da:11:22:33",
                    "model": "US16P150",
                    "name": "Switch 16",
                    "state": 1,
                    "type": "usw",
                },
                {
                    "_id": "5a4c022",
                    "adopted": True,
                    "cfgversion": "97f3011a27fcfd5b",
                    "mac": "80:2a:a8:00:01:02",
                    "model": "U7PG2",
                    "name": "ACCESS POINT AC PRO",
                    "state": 1,
                    "type": "uap",
                },
            ]
            if sc.gateway:
                devices.append(self._gateway())
            self._reply(handler, 200, {"meta": {"rc": "ok"}, "data": devices}, headers)
            return
        if rest == "cmd/devmgr" and method == "POST":
            body = json.loads(raw or b"{}")
            self.stats.commands.append(body)
            if body.get("cmd") != "force-provision":
                self._reply(handler, 400, self._error("api.err.InvalidCommand"))
            elif not sc.gateway or body.get("mac") != GATEWAY_MAC:
                self._reply(handler, 400, self._error("api.err.UnknownDevice"))
            else:
                self.commanded = True
                self.provisions += 1
                self.stats.polls_after_command = 0
                live = sc.config_file.read_bytes() if sc.config_file and sc.config_file.exists() else None
                self.stats.provisioned_configs.append(live)
                self.failing = sc.bad_config is not None and live == sc.bad_config
                self._reply(handler, 200, {"meta": {"rc": "ok"}, "data": []})
            return
        self._reply(handler, 404, self._error("api.err.NotFound"))

    # ----- Network v2 API (UniFi OS) -------------------------------------------------------
    @staticmethod
    def _v2_error(code: str, message: str) -> dict[str, Any]:
        # {"code", "details", "errorCode", "message"}
        # (kashalls/external-dns-unifi-webhook@9672b5f:internal/unifi/types.go, UnifiErrorResponse)
        return {"code": code, "details": {}, "errorCode": 400, "message": message}

    def _new_id(self) -> str:
        self.next_id += 1
        return f"65f0c0ffee{self.next_id:014x}"

    def _v2(self, handler: BaseHTTPRequestHandler, method: str, rest: str, raw: bytes) -> None:
        sc = self.scenario
        by_key = self._by_key(handler)
        if not by_key and self._session_of(handler) is None:
            self._reply(handler, 401, self._v2_error("api.err.LoginRequired", "login required"))
            return
        if sc.expire_v2_session_once and not self.stats.expired and not by_key:
            self.stats.expired += 1
            self.sessions.clear()
            self._reply(handler, 401, self._v2_error("api.err.LoginRequired", "login required"))
            return
        headers: dict[str, str] = {}
        if method != "GET" and not by_key:
            sent = handler.headers.get("X-CSRF-Token")
            self.stats.write_csrf_tokens.append(sent)
            if sent != self.csrf:
                self.stats.stale_csrf_rejections += 1
                self._reply(handler, 403, self._v2_error("api.err.InvalidCSRFToken", "invalid CSRF token"))
                return
        elif method == "GET" and sc.rotate_csrf and sc.csrf_header and not by_key:
            self.csrf = secrets.token_hex(8)
            self.stats.csrf_rotations += 1
            headers["X-Updated-CSRF-Token"] = self.csrf
        site, _, resource = rest.partition("/")
        if site != sc.site:
            # assumed: the v1 answer (401 api.err.NoSiteContext) in the v2 envelope
            self._reply(handler, 401, self._v2_error("api.err.NoSiteContext", "no such site"), headers)
            return
        body = json.loads(raw) if raw else None
        if method != "GET":
            self.stats.v2_bodies.append(body)
            self.stats.v2_requests.append((method, resource, body))
        if resource == "bgp/config":
            status, answer = self._bgp(method, body)
        elif resource == "static-dns" or resource.startswith("static-dns/"):
            status, answer = self._static_dns(method, resource.removeprefix("static-dns").strip("/"), body)
        else:
            status, answer = 404, self._v2_error("api.err.NotFound", "not found")
        if method != "GET" and status < 300:
            self.stats.v2_writes.append((method, resource))
        self._reply(handler, status, answer, headers)

    def _bgp(self, method: str, body: Any) -> tuple[int, Any]:
        sc = self.scenario
        unsupported = 404, self._v2_error("api.err.BgpUnsupportedDevice", "No BGP-capable gateway on this site")
        if method == "GET":
            if not sc.bgp_supported:
                # GET answers a list (ubiquiti-community/go-unifi@b2bf4ce:unifi/bgp_config.generated.go);
                # without a capable gateway only the POST was seen refusing
                # (jamesbraid/go-unifi@e255518:cmd/fields/gateway_probe_integration_test.go)
                return unsupported if sc.bgp_unsupported_on_get else (200, [])
            answer: tuple[int, Any]
            if sc.bgp_get_as_object:
                if self.bgp is None:
                    answer = 404, self._v2_error("api.err.NotFound", "BGP config not found")
                else:
                    answer = 200, self.bgp
            else:
                answer = 200, [self.bgp] if self.bgp is not None else []
            self.bgp_gets += 1
            if self.bgp_gets <= len(sc.bgp_after_gets) and sc.bgp_after_gets[self.bgp_gets - 1] is not None:
                # A new object: the answer above still holds what was there when it was read.
                self.bgp = {**(self.bgp or {}), **(sc.bgp_after_gets[self.bgp_gets - 1] or {})}
            return answer
        if not sc.bgp_supported:
            return unsupported
        if method == "POST":
            fields = {"enabled": bool, "description": str, "frr_bgpd_config": str, "uploaded_file_name": str}
            if not isinstance(body, dict) or not all(isinstance(body.get(k), t) for k, t in fields.items()):
                # "uploadedFileName required"
                # (jamesbraid/go-unifi@e255518:cmd/fields/uos_gateway_probe_integration_test.go)
                return 400, self._v2_error("api.err.InvalidPayload", "uploadedFileName required")
            text = str(body["frr_bgpd_config"])
            # What the controller checks of the text is not known; it holds users' configs with no
            # `router bgp` (prefix-lists, route-maps, bfd profiles kept there), so only a text no
            # line of which starts like an FRR command is refused here.
            if text.strip() and not any(line.strip().startswith(_FRR_STARTS) for line in text.split("\n")):
                return 400, self._v2_error("api.err.InvalidBgpConfig", "not an FRR bgpd config")
            self.bgp = {**body, "_id": (self.bgp or {}).get("_id") or self._new_id(), "site_id": "site-default"}
            return 201, self.bgp  # "201 created" (gateway_probe_integration_test.go, the table)
        if method == "DELETE":
            if self.bgp is None:
                return 404, self._v2_error("api.err.NotFound", "BGP config not found")
            self.bgp = None
            return 200, {}
        return 405, self._v2_error("api.err.MethodNotAllowed", f"{method} not allowed")

    def _static_dns(self, method: str, record_id: str, body: Any) -> tuple[int, Any]:
        # a bare list; POST answers the record with its _id
        # (kashalls/external-dns-unifi-webhook@9672b5f:internal/unifi/client.go)
        if method == "GET" and not record_id:
            return 200, list(self.dns.values())
        if method == "POST" and not record_id:
            self.stats.dns_creates += 1
            if self.scenario.fail_dns_create == self.stats.dns_creates:
                return 400, self._v2_error("api.err.InvalidPayload", "refused by the test")
            problem = self._record_problem(body, None)
            if problem:
                return 400, self._v2_error("api.err.InvalidPayload", problem)
            record = {"ttl": 0, **body, "_id": self._new_id(), "site_id": "site-default"}  # ttl left out: 0, assumed
            self.dns[record["_id"]] = record
            return 200, record
        if method == "PUT" and self.scenario.dns_put_refused:
            return 405, self._v2_error("api.err.MethodNotAllowed", "PUT not allowed")  # status assumed
        if record_id not in self.dns:
            return 404, self._v2_error("api.err.NotFound", f"no record {record_id}")
        if method == "PUT":
            problem = self._record_problem(body, record_id)
            if problem:
                return 400, self._v2_error("api.err.InvalidPayload", problem)
            self.dns[record_id] = {"ttl": 0, **body, "_id": record_id, "site_id": "site-default"}
            return 200, self.dns[record_id]
        if method == "DELETE":
            del self.dns[record_id]
            return 200, {}
        return 405, self._v2_error("api.err.MethodNotAllowed", f"{method} not allowed")

    def _record_problem(self, body: Any, record_id: str | None) -> str | None:
        fields = {"key": str, "value": str, "record_type": str, "enabled": bool}
        if not isinstance(body, dict) or not all(isinstance(body.get(k), t) for k, t in fields.items()):
            return "key, value, record_type and enabled are required"
        if "ttl" in body and (not isinstance(body["ttl"], int) or body["ttl"] < 0):
            return "ttl must be a whole number"
        if record_id is not None and body.get("_id") not in (None, record_id):
            return "_id does not match the path"
        family = {"A": ipaddress.IPv4Address, "AAAA": ipaddress.IPv6Address}.get(body["record_type"])
        if family is not None:
            try:
                family(body["value"])
            except ValueError:
                return f"{body['value']} is not an address of an {body['record_type']} record"
        same = (body["key"].lower(), body["record_type"])
        if any((r["key"].lower(), r["record_type"]) == same and i != record_id for i, r in self.dns.items()):
            return f"a {body['record_type']} record named {body['key']} exists"
        return None


@pytest.fixture
def controller(certs: Certs) -> Iterator[Callable[..., FakeController]]:
    """Start stand-in controllers (``controller(flavor="unifi-os", ...)``); all stopped after the test."""
    started: list[FakeController] = []

    def start(**kwargs: Any) -> FakeController:
        fake = FakeController(Scenario(**kwargs), certs.server)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A real OpenSSH server on loopback (without openssh-server the tests skip, saying so)."""
    server, proc = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    stop_sshd(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FAST = ["--retry-backoff", "0.02", "--max-backoff", "0.1", "--request-timeout", "5"]


def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("UNIFI_")
        and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
        and not k.lower().endswith("_proxy")
    }
    env["NO_PROXY"] = "*"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(
    command: str,
    url: str,
    *args: str,
    env: dict[str, str] | None = None,
    scenario: Scenario | None = None,
    timeout: float | None = 5.0,
    stdin: str = "",
) -> CliResult:
    """Run ``python -m components.unifi`` end to end; credentials from ``scenario`` unless ``env`` has them.

    ``command`` may hold a subcommand (``"unifi-os apply"``); ``timeout=None`` leaves out the
    provisioning options that only ``provision`` and ``status`` take."""
    full_env = base_env()
    if scenario is not None:
        full_env["UNIFI_USERNAME"] = scenario.username
        full_env["UNIFI_PASSWORD"] = scenario.password
    full_env.update(env or {})
    knobs = FAST if timeout is None else [*FAST, "--poll-interval", "0.02", "--timeout", str(timeout)]
    argv = [sys.executable, "-m", "components.unifi", *command.split(), "--url", url, *knobs, *args]
    proc = subprocess.run(
        argv, cwd=REPO, env=full_env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    secrets_ = [s for s in (full_env.get("UNIFI_PASSWORD"), full_env.get("UNIFI_API_KEY")) if s]
    for name in ("UNIFI_SSH_PRIVATE_KEY", "UNIFI_GATEWAY_SSH_KEY"):  # any line of a private key
        secrets_ += [line for line in full_env.get(name, "").splitlines() if line and not line.startswith("-----")]
    for secret in secrets_:
        assert secret not in proc.stdout, "a secret was printed on stdout"
        assert secret not in proc.stderr, "a secret was printed on stderr"
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def one_error_line(result: CliResult) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got: {result.stderr!r}"
    assert lines[0].startswith("error: ")
    return lines[0]
