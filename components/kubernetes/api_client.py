"""The Kubernetes API for the commands that talk to the cluster (the webhook gate, the Service
check, the wait for a Service's address, the Service listing), through the official ``kubernetes``
client.

Three things: a client configuration from the kubeconfig the provider gets
(:func:`kubeconfig_configuration`, files resolved by :mod:`components.kubernetes.kubeconfig`) or
from a server URL and token (:func:`direct_configuration`); :class:`ApiClient`, which sends the
requests and never raises for what the API server or the network did; and :class:`Response`,
what one request got (an HTTP status and body, or why there was none).

Which part of the official client sends what: Services, a built-in kind, go through the typed
``CoreV1Api`` (fixed paths, no discovery round trips); objects of any other kind (MetalLB's custom
resources) through ``DynamicClient``, which takes each kind's collection (plural, scope) from the
API server's discovery, so no path is built here from a naming rule.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.kubernetes.kubeconfig import KubeconfigError, kubeconfig_files, resolve_kubeconfig

if TYPE_CHECKING:
    from kubernetes.client import ApiClient as KubernetesApiClient
    from kubernetes.client import Configuration
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.resource import Resource

# The User-Agent of every request; kept from when the client was part of the gate, so that the API
# server's audit log and flow-control rules see the same name as before.
USER_AGENT = "metallb-unifi-webhook-gate"
MESSAGE_LIMIT = 500


class InputError(Exception):
    """Bad stdin, arguments or kubeconfig: a usage error (the commands exit 2)."""


@dataclass(frozen=True)
class Response:
    """What one request got: an HTTP status and body, or none to go by (``status`` None): no HTTP
    answer at all, or no resource in the API server's discovery for the object's kind."""

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


class _NotServed(Exception):
    """Discovery does not give one resource for the object's kind: ``retryable`` while it may yet."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _timed_client(configuration: Configuration, timeout: Callable[[], float]) -> KubernetesApiClient:
    """The official client, with ``timeout()`` as the timeout of every request that sets none:
    DynamicClient's discovery requests (``/version``, ``/apis``, ``/apis/<group>/<version>``) take
    no timeout argument (kubernetes 37.0.2 ``kubernetes/dynamic/discovery.py``), and urllib3 would
    wait for ever on a server that accepts the connection and never answers."""
    from kubernetes.client import ApiClient as KubernetesApiClient
    from kubernetes.client.rest import RESTResponse

    class TimedApiClient(KubernetesApiClient):
        def call_api(
            self,
            method: Any,
            url: Any,
            header_params: Any = None,
            body: Any = None,
            post_params: Any = None,
            _request_timeout: Any = None,
        ) -> RESTResponse:
            if _request_timeout is None:
                _request_timeout = timeout()
            return super().call_api(method, url, header_params, body, post_params, _request_timeout)

    return TimedApiClient(configuration)


class ApiClient:
    """Requests through the official client, one at a time; every outcome a :class:`Response`.

    ``request_timeout()`` is asked before each request (discovery included) for its timeout in
    seconds. Objects are reached through the client's ``DynamicClient``: the path of an object's
    collection comes from the API server's discovery (``/apis/<group>/<version>`` lists each
    resource's plural, kind and scope), not from a naming rule. Discovery is cached for the life of
    this client in a private directory (not the shared ``osrcp-<hash>.json`` in the temporary
    directory the client uses by default, which a later run would trust); a kind it does not list
    is looked up afresh at every request until it is (LazyDiscoverer.search, kubernetes 37.0.2
    ``kubernetes/dynamic/discovery.py``, fetches ``/version`` and ``/apis`` again when a search
    finds nothing).
    """

    def __init__(self, configuration: Configuration, *, request_timeout: Callable[[], float]):
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
        self._last_timeout = 0.0
        self._api = _timed_client(configuration, self._timeout)
        self._api.user_agent = USER_AGENT
        self._dynamic: DynamicClient | None = None
        self._discovery_dir: str | None = None

    @property
    def where(self) -> str:
        return f"{self._host}:{self._port}"

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]
        if self._discovery_dir is not None:
            shutil.rmtree(self._discovery_dir, ignore_errors=True)

    def _timeout(self) -> float:
        self._last_timeout = self._request_timeout()
        return self._last_timeout

    # --- Services, through the typed API -----------------------------------------------------
    # A built-in kind whose paths the client's CoreV1Api knows: no discovery round trips. Raw
    # answers (_preload_content=False), so that callers get the API's JSON as it was sent.

    def read_service(self, namespace: str, name: str) -> Response:
        """``GET /api/v1/namespaces/{namespace}/services/{name}``."""
        from kubernetes.client import CoreV1Api

        core = CoreV1Api(self._api)
        return self._send(lambda: core.read_namespaced_service(name, namespace, _preload_content=False))

    def list_services(self, namespace: str | None, *, limit: int, token: str = "") -> Response:
        """One page of ``GET /api/v1/services`` (``namespace`` None) or
        ``/api/v1/namespaces/{namespace}/services``: ``limit`` items from the ``continue`` token."""
        from kubernetes.client import CoreV1Api

        core = CoreV1Api(self._api)
        continued = token or None
        if namespace is None:
            return self._send(
                lambda: core.list_service_for_all_namespaces(limit=limit, _continue=continued, _preload_content=False)
            )
        return self._send(
            lambda: core.list_namespaced_service(namespace, limit=limit, _continue=continued, _preload_content=False)
        )

    def list_events(self, namespace: str, *, field_selector: str) -> Response:
        """``GET /api/v1/namespaces/{namespace}/events?fieldSelector=…``: the core/v1 Events there
        that match ``field_selector`` (e.g. ``involvedObject.kind=Service,involvedObject.name=x``)."""
        from kubernetes.client import CoreV1Api

        core = CoreV1Api(self._api)
        return self._send(
            lambda: core.list_namespaced_event(namespace, field_selector=field_selector, _preload_content=False)
        )

    # --- objects of any kind, through DynamicClient ------------------------------------------

    def create(
        self, obj: Mapping[str, Any], *, dry_run: bool, field_manager: str, plural: str | None = None
    ) -> Response:
        """``POST`` ``obj`` to its collection (``dryRun=All`` if ``dry_run``). ``obj`` has apiVersion,
        kind and metadata.name (and metadata.namespace if its kind is namespaced): the caller checks.
        ``plural`` picks the resource when discovery lists more than one for the kind."""

        def send() -> Any:
            dynamic, resource = self._resource(obj, plural)
            return dynamic.create(  # type: ignore[no-untyped-call]  # DynamicClient is untyped
                resource,
                body=dict(obj),
                namespace=_quote(obj["metadata"].get("namespace")),
                dry_run="All" if dry_run else None,
                field_manager=field_manager,
                serialize=False,
            )

        return self._send(send)

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool,
        field_manager: str,
        force: bool,
        plural: str | None = None,
    ) -> Response:
        """A server-side apply of ``obj`` (``PATCH`` of the object with ``Content-Type:
        application/apply-patch+yaml``; JSON is YAML); arguments as for :meth:`create`."""

        def send() -> Any:
            dynamic, resource = self._resource(obj, plural)
            return dynamic.server_side_apply(  # type: ignore[no-untyped-call]
                resource,
                body=dict(obj),
                name=_quote(obj["metadata"]["name"]),
                namespace=_quote(obj["metadata"].get("namespace")),
                force_conflicts=force or None,
                dry_run="All" if dry_run else None,
                field_manager=field_manager,
                serialize=False,
            )

        return self._send(send)

    def _resource(self, obj: Mapping[str, Any], plural: str | None) -> tuple[DynamicClient, Resource]:
        """The DynamicClient and the resource discovery lists for ``obj``'s apiVersion and kind."""
        from kubernetes.dynamic import DynamicClient
        from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

        api_version, kind = obj["apiVersion"], obj["kind"]
        search: dict[str, str] = {"prefix": "apis" if "/" in api_version else "api"}
        if plural is not None:
            search["name"] = plural
        what = f"{kind} ({plural})" if plural else kind
        try:
            if self._dynamic is None:  # its constructor asks for /version and /apis
                if self._discovery_dir is None:
                    self._discovery_dir = tempfile.mkdtemp(prefix="kube-discovery-")
                cache = os.path.join(self._discovery_dir, "discovery.json")
                self._dynamic = DynamicClient(self._api, cache_file=cache)  # type: ignore[no-untyped-call]
            resource = self._dynamic.resources.get(api_version=api_version, kind=kind, **search)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # A 2xx answer that is not a discovery document (the client takes a body that is not
            # JSON as a string): not a Kubernetes API server, or a proxy in front of one.
            message = f"{self.where} does not answer discovery as a Kubernetes API server does ({exc!r})"
            raise _NotServed(_shorten(message), retryable=False) from None
        except ResourceNotFoundError:
            raise _NotServed(
                f"the API server does not serve {what} in {api_version} yet: its discovery does not list it "
                "(the CustomResourceDefinition is not installed or not established)",
                retryable=True,
            ) from None
        except ResourceNotUniqueError as exc:
            message = f"the API server lists more than one {what} in {api_version}: {exc}"
            raise _NotServed(message, retryable=False) from None
        return self._dynamic, resource

    # --- any request -------------------------------------------------------------------------

    def _send(self, send: Callable[[], Any]) -> Response:
        """What ``send()`` got as a Response: it makes requests through the official client and
        returns the last one's raw urllib3 response. An error status the client raises is an answer
        like any other; no answer, or no resource in discovery, is a Response with status None."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            answer = send()
        except _NotServed as exc:
            return Response(None, error=str(exc), retryable=exc.retryable)
        except ApiException as exc:  # DynamicClient's errors (dynamic/exceptions.py) are ApiExceptions too
            if exc.status:  # an HTTP answer; status 0 is the client's own wrapper of a TLS failure
                return Response(exc.status, exc.body or "")
            return self._failure(exc)
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            return self._failure(exc)
        return Response(answer.status, answer.data.decode("utf-8", "replace"))

    def _failure(self, exc: BaseException) -> Response:
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
            return Response(None, error=f"no answer from {self.where} within {self._last_timeout:.1f}s (timeout)")
        return Response(None, error=f"{type(exc).__name__} talking to {self.where}: {_shorten(str(exc))}")


def _quote(segment: str | None) -> str | None:
    """A name or namespace as one path segment (DynamicClient puts them into the path as they are)."""
    return None if segment is None else urllib.parse.quote(segment, safe="")
