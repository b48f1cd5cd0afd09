"""Admin login is rate-limited (django-axes): after ADMIN_LOGIN_FAILURE_LIMIT
failed logins for one username from one client address (an IPv6 address's
/64), even the right password is refused until the cool-off has passed; a
forged X-Forwarded-For does not make a fresh address."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

PASSWORD = "the-right-password-5150"


@pytest.fixture
def curator(db):
    return get_user_model().objects.create_user("curator", "curator@example.org", PASSWORD, is_staff=True)


def log_in(client: Client, password: str, **headers):
    return client.post(reverse("admin:login"), {"username": "curator", "password": password,
                                                "next": reverse("admin:index")}, **headers)


def logged_in(client: Client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def test_the_right_password_logs_in(client, curator):
    response = log_in(client, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(client, curator):
    codes = [log_in(client, f"guess-{n}").status_code for n in range(30)]
    assert codes[:4] == [200] * 4  # the form again, "please enter the correct username and password"
    assert set(codes[5:]) == {429}
    response = log_in(client, PASSWORD)
    assert response.status_code == 429 and "locked" in response.content.decode().lower()
    assert not logged_in(client)


def test_the_limit_is_a_setting_and_other_addresses_are_not_locked_out(client, curator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    assert [log_in(client, "wrong").status_code for _ in range(3)] == [200, 200, 429]
    assert log_in(client, PASSWORD).status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    assert log_in(elsewhere, PASSWORD).status_code == 302 and logged_in(elsewhere)


def test_a_forged_forwarded_for_address_does_not_escape_the_lockout(client, curator):
    for n in range(10):
        log_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert log_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    assert not logged_in(client)


def test_behind_a_proxy_the_lockout_is_per_client_address(curator, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(5):
        log_in(proxy, "wrong", HTTP_X_FORWARDED_FOR="forged, 203.0.113.7")
    assert log_in(proxy, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    # Another client behind the same proxy is not locked out by the first one's failures.
    assert log_in(proxy, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302


def test_an_ipv6_client_is_locked_out_across_its_whole_64(curator):
    """A home or phone may log in from any address of its /64: failures from
    five of them lock the sixth out too, but not the next /64."""
    for n in range(1, 6):
        log_in(Client(REMOTE_ADDR=f"2001:db8:1:2::{n:x}"), "wrong")
    assert log_in(Client(REMOTE_ADDR="2001:db8:1:2:ffff::9"), PASSWORD).status_code == 429
    # Kept as an address (axes' field is one): the /64's first.
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["2001:db8:1:2::"]
    elsewhere = Client(REMOTE_ADDR="2001:db8:1:3::1")
    assert log_in(elsewhere, PASSWORD).status_code == 302 and logged_in(elsewhere)


def test_ipv4_clients_are_single_addresses_written_either_way(curator):
    for _ in range(5):
        log_in(Client(REMOTE_ADDR="192.0.2.7"), "wrong")
    # IPv4 written as IPv6 is that IPv4 address; its neighbour is someone else.
    assert log_in(Client(REMOTE_ADDR="::ffff:192.0.2.7"), PASSWORD).status_code == 429
    assert log_in(Client(REMOTE_ADDR="192.0.2.8"), PASSWORD).status_code == 302


def test_behind_a_proxy_an_ipv6_client_is_locked_out_across_its_whole_64(curator, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for n in range(1, 6):
        log_in(proxy, "wrong", HTTP_X_FORWARDED_FOR=f"2001:db8:ff::{n:x}, 2001:db8:1:2::{n:x}")
    assert log_in(proxy, PASSWORD, HTTP_X_FORWARDED_FOR="2001:db8:1:2:ffff::9").status_code == 429
    assert log_in(proxy, PASSWORD, HTTP_X_FORWARDED_FOR="2001:db8:1:3::1").status_code == 302


def test_after_the_cool_off_the_right_password_logs_in_again(client, curator, settings):
    for _ in range(5):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 429
    # As if the cool-off time had passed since the failures.
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.timezone.utc) - settings.AXES_COOLOFF_TIME
                                 - dt.timedelta(seconds=1))
    assert log_in(client, PASSWORD).status_code == 302 and logged_in(client)


def test_a_success_forgets_earlier_failures(client, curator):
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
