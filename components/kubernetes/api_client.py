"""The Kubernetes API for the commands that talk to the cluster (the webhook gate, the Service
check, the Service listing), through the official ``kubernetes`` client.

Three things: a client configuration from the kubeconfig the provider gets
(:func:`kubeconfig_configuration`, files resolved by :mod:`components.kubernetes.kubeconfig`) or
from a server URL and token (:func:`direct_configuration`); :class:`ApiClient`, which sends the
requests and never raises for what the API server or the network did; and :class:`Response`, what
one request got (an HTTP status and body, or why there was no answer).

Tokens, client keys and exec-plugin output are never printed: failures name the server, not the
credentials. No Pulumi import. The official client is imported lazily (about 0.4 s), so importing
this module for its types costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import ssl
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.kubernetes.kubeconfig import KubeconfigError, kubeconfig_files, resolve_kubeconfig

if TYPE_CHECKING:
    from kubernetes.client import Configuration

# The User-Agent of every request; kept from when the client was part of the gate, so that the API
# server's audit log and flow-control rules see the same name as before.
USER_AGENT = "metallb-unifi-webhook-gate"
MESSAGE_LIMIT = 500


class InputError(Exception):
    """Bad stdin, arguments or kubeconfig: a usage error (the commands exit 2)."""


@dataclass(frozen=True)
class Response:
    """What one attempt got: an HTTP status and body, or no HTTP answer at all (``status`` None)."""

    status: int | None
    body: str = ""
    error: str | None = None
    retryable: bool = True  # only for status None: False when retrying cannot help (e.g. TLS verification)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.status is None:
            return _shorten(self.error or "no response")
        return f"HTTP {self.status}: {api_message(self.body)}"


def api_message(body: str) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, else the body itself, shortened."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"]:
        return _shorten(data["message"])
    return _shorten(body) or "(empty body)"


def _shorten(text: str) -> str:
    """``text`` on one line and at most MESSAGE_LIMIT characters."""
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


# --- client configuration ---------------------------------------------------------------------


@contextlib.contextmanager
def kubeconfig_configuration(
    explicit: str | None, context: str | None, environ: Mapping[str, str]
) -> Iterator[Configuration]:
    """A client configuration for the kubeconfig exactly as the provider gets it
    (:func:`components.kubernetes.kubeconfig.resolve_kubeconfig`: merged and paths resolved the
    way client-go does); the official loader turns its context into TLS settings and credentials
    (token, tokenFile, client certificate, exec plugin). ``*-data`` fields and plugin
    certificates go to a private temporary directory (0700, files 0600), removed afterwards.
    """
    try:
        resolved = resolve_kubeconfig(explicit, context, environ)
    except KubeconfigError as exc:
        raise InputError(str(exc)) from exc
    if resolved is None:
        files, _ = kubeconfig_files(explicit, environ)
        raise InputError(f"no kubeconfig found at {os.pathsep.join(files)}")
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    secret_dir = tempfile.mkdtemp(prefix="webhook-gate-")
    try:
        configuration = Configuration()
        with _logged_errors() as errors:
            try:
                # config_base_path "": every path is absolute already, and an exec plugin runs in
                # our working directory, as client-go runs it.
                loader = KubeConfigLoader(  # type: ignore[no-untyped-call]  # the config loader is untyped
                    resolved.config, active_context=resolved.context, config_base_path="", temp_file_path=secret_dir
                )
                loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
            except (ConfigException, OSError, ValueError) as exc:
                raise InputError(f"kubeconfig context {resolved.context!r}: {_shorten(str(exc))}") from exc
        # The loader logs a failed credential plugin and carries on without credentials.
        if errors:
            raise InputError(f"kubeconfig context {resolved.context!r}: {_shorten(errors[0])}")
        yield configuration
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _logged_errors() -> Iterator[list[str]]:
    """Errors the Kubernetes config loader logs to the root logger, kept instead of printed."""
    root = logging.getLogger()
    handler = _Collect()
    root.addHandler(handler)
    try:
        yield handler.messages
    finally:
        root.removeHandler(handler)


def direct_configuration(server: str, token: str | None, ca_file: str | None, insecure: bool) -> Configuration:
    """A client configuration for a server URL, an optional bearer token and CA bundle."""
    from kubernetes.client import Configuration

    configuration = Configuration(host=server)
    if token:
        configuration.api_key["BearerToken"] = token
        configuration.api_key_prefix["BearerToken"] = "Bearer"
    configuration.ssl_ca_cert = ca_file
    configuration.verify_ssl = not insecure
    return configuration


# --- the client -------------------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: causes, contexts and exception arguments (urllib3 wraps that way)."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__, *current.args) if isinstance(e, BaseException)]


class ApiClient:
    """One request at a time through the official client; failures become :class:`Response`.

    ``request_timeout()`` is asked before each request for its timeout in seconds.
    """

    def __init__(self, configuration: Configuration, *, request_timeout: Callable[[], float]):
        from kubernetes.client import ApiClient as KubernetesApiClient

        parts = urllib.parse.urlsplit(configuration.host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"the API server URL must be http(s)://host[:port], got {configuration.host!r}")
        self._host = parts.hostname
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise InputError(f"bad port in API server URL {configuration.host!r}") from exc
        if parts.scheme == "https":
            try:  # fail now on an unreadable CA or client certificate, not at every attempt
                probe = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
                if configuration.cert_file:
                    probe.load_cert_chain(configuration.cert_file, configuration.key_file)
            except (OSError, ValueError) as exc:
                raise InputError(f"cannot set up TLS for {configuration.host}: {exc}") from exc
        configuration.retries = False  # the callers retry; urllib3's own retries would hide failures
        self._request_timeout = request_timeout
        self._api = KubernetesApiClient(configuration)
        self._api.user_agent = USER_AGENT

    @property
    def where(self) -> str:
        return f"{self._host}:{self._port}"

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def request(
        self, method: str, path: str, query: Sequence[tuple[str, str]], body: Mapping[str, Any], content_type: str
    ) -> Response:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        timeout = self._request_timeout()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        try:
            serialized = self._api.param_serialize(
                method,
                path,
                query_params=list(query),
                header_params=headers,
                body=dict(body),
                auth_settings=["BearerToken"],
            )
            answer = self._api.call_api(*serialized, _request_timeout=timeout)
            return Response(answer.status, answer.read().decode("utf-8", "replace"))  # type: ignore[no-untyped-call]
        except (ApiException, OSError, urllib3.exceptions.HTTPError) as exc:
            return self._failure(exc, timeout)

    def _failure(self, exc: BaseException, timeout: float) -> Response:
        import urllib3

        chain = list(_causes(exc))

        def found(*kinds: type[BaseException]) -> BaseException | None:
            return next((e for e in chain if isinstance(e, kinds)), None)

        if isinstance(verify := found(ssl.SSLCertVerificationError), ssl.SSLCertVerificationError):
            reason = verify.verify_message or str(verify)
            return Response(None, error=f"TLS verification of {self.where} failed: {reason}", retryable=False)
        if found(socket.gaierror, urllib3.exceptions.NameResolutionError):
            return Response(None, error=f"cannot resolve {self._host}")
        if found(ConnectionRefusedError):
            return Response(None, error=f"connection refused by {self.where}")
        if found(ConnectionResetError):  # includes http.client.RemoteDisconnected
            return Response(None, error=f"connection reset by {self.where}")
        if found(TimeoutError, urllib3.exceptions.TimeoutError):
            return Response(None, error=f"no answer from {self.where} within {timeout:.1f}s (timeout)")
        return Response(None, error=f"{type(exc).__name__} talking to {self.where}: {_shorten(str(exc))}")
