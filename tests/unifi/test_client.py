"""End-to-end tests of ``python -m components.unifi`` and the client against the HTTPS stand-in."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from components.unifi.client import ControllerClient, Credentials, RetryPolicy, TlsTrust, normalize_fingerprint
from components.unifi.errors import (
    EXIT_API,
    EXIT_CREDENTIALS,
    EXIT_NO_GATEWAY,
    EXIT_RATE_LIMITED,
    EXIT_STUCK_PROVISIONING,
    EXIT_TIMEOUT,
    EXIT_TLS,
    EXIT_UNREACHABLE,
    RateLimitedError,
    TlsError,
    UnreachableError,
)
from tests.unifi.conftest import (
    NEW_CFG,
    OLD_CFG,
    Certs,
    FakeController,
    base_env,
    free_port,
    one_error_line,
    run_cli,
)

Start = Callable[..., FakeController]
FLAVORS = ["classic", "unifi-os"]


def ca(certs: Certs) -> list[str]:
    return ["--ca-file", str(certs.server.cert)]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_provision_waits_for_new_cfgversion(controller: Start, certs: Certs, flavor: str) -> None:
    fake = controller(flavor=flavor, lag_polls=3, provisioning_polls=2)
    result = run_cli("provision", fake.url, "--site", "default", *ca(certs), scenario=fake.scenario)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert f"({flavor}, site default)" in out  # auto-detected
    assert "force-provision sent to f0:9f:c2:00:00:01" in out
    assert f"state 1 (connected), cfgversion {OLD_CFG}" in out
    assert "state 5 (provisioning)" in out
    assert f"gateway provisioned: cfgversion {OLD_CFG} -> {NEW_CFG}" in out
    # the lag (state 1 + old version) did not end the wait early
    assert fake.stats.polls_after_command == 3 + 2 + 1
    assert fake.stats.commands == [{"cmd": "force-provision", "mac": "f0:9f:c2:00:00:01"}]
    assert fake.stats.logins == 1
    if flavor == "unifi-os":
        assert fake.stats.csrf_rotations >= 1
        assert fake.stats.stale_csrf_rejections == 0  # the write carried the rotated token
        assert fake.stats.write_csrf_tokens and fake.stats.write_csrf_tokens[-1] is not None
        assert all(path.startswith("/proxy/network/") for _, path in fake.stats.requests if "/api/s/" in path)


def test_csrf_token_follows_rotation(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os")
    creds = Credentials(username=fake.scenario.username, password=fake.scenario.password)
    with ControllerClient(fake.url, creds, trust=TlsTrust(ca_file=str(certs.server.cert))) as client:
        client.login()
        first = fake.csrf
        client.api("GET", "/api/s/default/stat/device")
        assert fake.csrf != first
        client.api("POST", "/api/s/default/cmd/devmgr", {"cmd": "force-provision", "mac": "f0:9f:c2:00:00:01"})
    assert fake.stats.write_csrf_tokens == [fake.csrf]
    assert fake.stats.stale_csrf_rejections == 0
    assert fake.stats.logins == 1


def test_unifi_os_answering_like_classic_says_to_set_the_flavor_after_one_login(
    controller: Start, certs: Certs
) -> None:
    fake = controller(flavor="unifi-os", probe_redirects=True)
    auto = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario)
    assert auto.returncode == EXIT_API
    line = one_error_line(auto)
    assert "set flavor: unifi-os" in line and "credentials" not in line
    assert fake.stats.login_attempts == 1  # one login spent on the guess, no second one
    forced = run_cli("provision", fake.url, "--flavor", "unifi-os", *ca(certs), scenario=fake.scenario)
    assert forced.returncode == 0, forced.stderr
    assert "gateway provisioned" in forced.stdout


def test_api_key_instead_of_login(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os", api_key="k3y-do-not-print")
    result = run_cli("provision", fake.url, *ca(certs), env={"UNIFI_API_KEY": "k3y-do-not-print"})
    assert result.returncode == 0, result.stderr
    assert fake.stats.login_attempts == 0
    assert fake.stats.commands


def test_wrong_api_key(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os", api_key="k3y-right")
    result = run_cli("status", fake.url, *ca(certs), env={"UNIFI_API_KEY": "k3y-wrong-do-not-print"})
    assert result.returncode == EXIT_CREDENTIALS
    assert "credentials" in one_error_line(result)


@pytest.mark.parametrize(("flavor", "code"), [("classic", "api.err.Invalid"), ("unifi-os", "AUTHENTICATION_FAILED")])
def test_bad_credentials(controller: Start, certs: Certs, flavor: str, code: str) -> None:
    fake = controller(flavor=flavor)
    env = {"UNIFI_USERNAME": "admin", "UNIFI_PASSWORD": "wr0ng-pa55-do-not-print"}
    result = run_cli("provision", fake.url, *ca(certs), env=env)
    assert result.returncode == EXIT_CREDENTIALS
    line = one_error_line(result)
    assert "credentials" in line and code in line
    assert fake.stats.login_attempts == 1  # no hammering on a refused login


def test_mfa_account_is_told_to_use_a_local_account_or_an_api_key(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os", mfa=True)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == EXIT_CREDENTIALS
    line = one_error_line(result)
    assert "MFA" in line and "local account" in line and "UNIFI_API_KEY" in line
    assert fake.stats.login_attempts == 1 and fake.stats.commands == []


def test_csrf_token_only_inside_the_token_jwt(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os", csrf_header=False)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == 0, result.stderr
    assert fake.stats.logins == 1 and fake.stats.stale_csrf_rejections == 0  # no 403, no re-login
    assert fake.stats.write_csrf_tokens == [fake.csrf]  # the claim of the TOKEN cookie (stored despite partitioned)


def test_missing_credentials(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("provision", fake.url, *ca(certs))
    assert result.returncode == EXIT_CREDENTIALS
    assert "UNIFI_USERNAME" in one_error_line(result)
    assert fake.stats.requests == []


@pytest.mark.parametrize("flavor", FLAVORS)
def test_session_expiry_relogs_in_once(controller: Start, certs: Certs, flavor: str) -> None:
    fake = controller(flavor=flavor, expire_session_once=True)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == 0, result.stderr
    assert fake.stats.expired == 1
    assert fake.stats.logins == 2
    assert "session expired, logging in again" in result.stdout


def test_rate_limited_login_is_ridden_out(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os", rate_limited_logins=4)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == 0, result.stderr
    assert fake.stats.login_attempts == 5
    waits = [line for line in result.stdout.splitlines() if line.startswith("login rate-limited")]
    assert len(waits) == 4
    assert re.fullmatch(
        r"login rate-limited \(HTTP 429 AUTHENTICATION_FAILED_LIMIT_REACHED\): waiting 0\.02s, until "
        r"\d\d:\d\d:\d\d \(giving up at \d\d:\d\d:\d\d\)",
        waits[0],
    )


def test_rate_limited_login_gives_up_after_the_wait(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os", rate_limited_logins=1000)
    result = run_cli("provision", fake.url, *ca(certs), "--login-wait", "0.3", scenario=fake.scenario)
    assert result.returncode == EXIT_RATE_LIMITED
    line = one_error_line(result)
    assert "429" in line and "AUTHENTICATION_FAILED_LIMIT_REACHED" in line and "wait a few minutes" in line
    assert 3 < fake.stats.login_attempts < 20  # waited, bounded


def test_login_rate_limit_waits_about_90s_like_go_unifi(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os", rate_limited_logins=1000)
    delays: list[float] = []
    creds = Credentials(username="admin", password=fake.scenario.password)
    trust = TlsTrust(ca_file=str(certs.server.cert))
    with (
        ControllerClient(fake.url, creds, trust=trust, sleep=delays.append) as client,
        pytest.raises(RateLimitedError, match="8 logins"),
    ):
        client.login()
    assert delays == [1, 2, 4, 8, 16, 30, 29]  # 90 s in all, then the last attempt
    assert fake.stats.login_attempts == 8


def test_transient_5xx_is_retried(controller: Start, certs: Certs) -> None:
    fake = controller(fail_5xx=2)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == 0, result.stderr
    assert "retrying GET" in result.stdout


def test_persistent_5xx_is_unreachable(controller: Start, certs: Certs) -> None:
    fake = controller(fail_5xx=100)
    result = run_cli("status", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == EXIT_UNREACHABLE
    assert "HTTP 502" in one_error_line(result)


def test_unreachable(certs: Certs) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    result = run_cli("provision", url, *ca(certs), env={"UNIFI_USERNAME": "a", "UNIFI_PASSWORD": "p-do-not-print"})
    assert result.returncode == EXIT_UNREACHABLE
    line = one_error_line(result)
    assert "unreachable" in line and "4 attempts" in line


@pytest.mark.parametrize("flavor", FLAVORS)
def test_no_gateway(controller: Start, certs: Certs, flavor: str) -> None:
    fake = controller(flavor=flavor, gateway=False)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == EXIT_NO_GATEWAY
    assert "no gateway" in one_error_line(result)
    assert fake.stats.commands == []


def test_gateway_mac_not_on_site(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("provision", fake.url, "--gateway-mac", "AA-BB-CC-DD-EE-FF", *ca(certs), scenario=fake.scenario)
    assert result.returncode == EXIT_NO_GATEWAY
    assert "aa:bb:cc:dd:ee:ff" in one_error_line(result)


def test_gateway_by_mac(controller: Start, certs: Certs) -> None:
    fake = controller(gateway_type="udm", flavor="unifi-os")
    result = run_cli("provision", fake.url, "--gateway-mac", "F09FC2000001", *ca(certs), scenario=fake.scenario)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("flavor", FLAVORS)
def test_unknown_site_names_the_sites_the_account_sees(controller: Start, certs: Certs, flavor: str) -> None:
    fake = controller(flavor=flavor, sites=(("default", "Home"), ("k3x9q2ab", "Lab")))
    result = run_cli("provision", fake.url, "--site", "Home", *ca(certs), scenario=fake.scenario)
    assert result.returncode == EXIT_API
    line = one_error_line(result)
    assert "unknown site" in line and "no site 'Home'" in line
    assert "'Home' is the display name of site 'default': use --site default" in line
    assert "default (shown as 'Home'), k3x9q2ab (shown as 'Lab')" in line
    assert fake.stats.logins == 1 and fake.stats.commands == []  # no second login


@pytest.mark.parametrize("flavor", FLAVORS)
def test_gateway_stuck_provisioning(controller: Start, certs: Certs, flavor: str) -> None:
    fake = controller(flavor=flavor, stuck=True, lag_polls=1)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario, timeout=0.5)
    assert result.returncode == EXIT_STUCK_PROVISIONING
    assert "stuck provisioning" in one_error_line(result)
    assert "state 5 (provisioning)" in result.stdout


def test_gateway_never_starts_is_a_timeout(controller: Start, certs: Certs) -> None:
    fake = controller(never_starts=True)
    result = run_cli("provision", fake.url, *ca(certs), scenario=fake.scenario, timeout=0.4)
    assert result.returncode == EXIT_TIMEOUT
    line = one_error_line(result)
    assert line.startswith("error: timeout:") and "never started" in line


@pytest.mark.parametrize("flavor", FLAVORS)
def test_status(controller: Start, certs: Certs, flavor: str) -> None:
    fake = controller(flavor=flavor)
    result = run_cli("status", fake.url, *ca(certs), scenario=fake.scenario)
    assert result.returncode == 0, result.stderr
    for expected in ("name: USG", "mac: f0:9f:c2:00:00:01", "type: ugw (UGW3)", "state: 1 (connected)"):
        assert expected in result.stdout
    assert f"cfgversion: {OLD_CFG}" in result.stdout
    assert fake.stats.commands == []


# ----- TLS --------------------------------------------------------------------------------


def test_self_signed_refused_without_trust(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("status", fake.url, scenario=fake.scenario)
    assert result.returncode == EXIT_TLS
    assert "not trusted" in one_error_line(result)
    assert fake.stats.requests == []


def test_ca_from_environment_pem(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os")
    pem = certs.server.cert.read_text()
    result = run_cli("provision", fake.url, env={"UNIFI_CA_CERT": pem}, scenario=fake.scenario)
    assert result.returncode == 0, result.stderr


def test_bad_ca_pem_in_environment(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("status", fake.url, env={"UNIFI_CA_CERT": "not a certificate"}, scenario=fake.scenario)
    assert result.returncode == EXIT_TLS
    assert "UNIFI_CA_CERT" in one_error_line(result)


def test_ca_file_wins_over_requests_ca_bundle(controller: Start, certs: Certs) -> None:
    fake = controller()
    env = {"REQUESTS_CA_BUNDLE": str(certs.other.cert)}
    without = run_cli("status", fake.url, env=env, scenario=fake.scenario)
    assert without.returncode == EXIT_TLS  # the environment's bundle is used when nothing is given
    result = run_cli("provision", fake.url, *ca(certs), env=env, scenario=fake.scenario)
    assert result.returncode == 0, result.stderr


def test_wrong_ca_file_refused(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("status", fake.url, "--ca-file", str(certs.other.cert), scenario=fake.scenario)
    assert result.returncode == EXIT_TLS
    assert "TLS" in one_error_line(result)


@pytest.mark.parametrize("style", ["colons", "plain-lower"])
def test_fingerprint_pinning_accepts_the_right_certificate(controller: Start, certs: Certs, style: str) -> None:
    fake = controller(flavor="unifi-os")
    fingerprint = certs.server.fingerprint
    if style == "plain-lower":
        fingerprint = fingerprint.replace(":", "").lower()
    env = {"REQUESTS_CA_BUNDLE": str(certs.other.cert)}  # must not interfere with pinning
    result = run_cli("provision", fake.url, "--fingerprint", fingerprint, env=env, scenario=fake.scenario)
    assert result.returncode == 0, result.stderr


def test_fingerprint_pinning_refuses_another_certificate(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("status", fake.url, "--fingerprint", certs.other.fingerprint, scenario=fake.scenario)
    assert result.returncode == EXIT_TLS
    assert "fingerprint" in one_error_line(result)
    assert fake.stats.requests == []


def test_fingerprint_adapter_in_process(controller: Start, certs: Certs) -> None:
    fake = controller()
    creds = Credentials(username="admin", password=fake.scenario.password)
    wrong = TlsTrust(fingerprint=certs.other.fingerprint)
    with ControllerClient(fake.url, creds, trust=wrong) as client, pytest.raises(TlsError, match="fingerprint"):
        client.login()
    with ControllerClient(fake.url, creds, trust=TlsTrust(fingerprint=certs.server.fingerprint)) as client:
        client.login()
        assert client.flavor == "classic"
    assert normalize_fingerprint(certs.server.fingerprint) == certs.server.fingerprint.replace(":", "").lower()


def test_malformed_fingerprint_is_a_usage_error(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("status", fake.url, "--fingerprint", "abc", scenario=fake.scenario)
    assert result.returncode == 2
    assert "fingerprint" in one_error_line(result)


def test_insecure(controller: Start, certs: Certs) -> None:
    fake = controller()
    result = run_cli("status", fake.url, "--insecure", scenario=fake.scenario)
    assert result.returncode == 0, result.stderr
    assert "verification disabled" in result.stdout


def test_trust_options_are_exclusive(certs: Certs) -> None:
    result = run_cli("status", "https://127.0.0.1:1", "--insecure", *ca(certs))
    assert result.returncode == 2


def test_unreachable_in_process_uses_bounded_backoff() -> None:
    delays: list[float] = []
    creds = Credentials(username="a", password="b")
    retry = RetryPolicy(attempts=3, backoff=0.5, max_backoff=0.75)
    url = f"https://127.0.0.1:{free_port()}"
    with (
        ControllerClient(url, creds, retry=retry, sleep=delays.append) as client,
        pytest.raises(UnreachableError, match="unreachable"),
    ):
        client.login()
    assert delays == [0.5, 0.75]
    assert "UNIFI_PASSWORD" not in base_env()
