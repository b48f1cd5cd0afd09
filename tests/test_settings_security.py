"""Security settings come from the environment and are safe by default: DEBUG
off, no start without a strong secret key, and the documented production
environment (deploy/production.env.example) passes `check --deploy` with no
warning. Each case starts Django in a fresh process with only that environment."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = ROOT / "deploy" / "production.env.example"
STRONG_KEY = secrets.token_urlsafe(50)
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "from rest_framework.settings import api_settings as a; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER, "
    "a.NUM_PROXIES, s.CACHES['default']['BACKEND'])"
)


def production_environment() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in PRODUCTION_ENV.read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    variables = {name.strip(): value.strip() for name, value in pairs}
    assert variables["DJANGO_SECRET_KEY"].startswith("replace-with"), "the example must not carry a real key"
    return {**variables, "DJANGO_SECRET_KEY": STRONG_KEY}


def django(*args: str, **variables: str) -> subprocess.CompletedProcess:
    """Run manage.py (or `-c code`) with nothing in the environment but `variables`."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "DJANGO_SETTINGS_MODULE": "meetingfinder.settings", **variables}
    command = [sys.executable, *args] if args[0] == "-c" else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_check_deploy_passes_with_no_warning_in_the_documented_production_environment():
    result = django("check", "--deploy", "--fail-level", "WARNING", **production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_production_environment_turns_every_protection_on():
    result = django("-c", PRINT_SETTINGS, **production_environment())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=7)[:7] == ["False", "True", "31536000", "True", "True", "True", "True"]
    assert result.stdout.rstrip().endswith(
        "('HTTP_X_FORWARDED_PROTO', 'https') 2 django_redis.cache.RedisCache")


def test_debug_is_off_unless_the_environment_turns_it_on():
    assert django("-c", PRINT_SETTINGS, DJANGO_SECRET_KEY=STRONG_KEY).stdout.startswith("False ")
    local = django("-c", PRINT_SETTINGS, DJANGO_DEBUG="true")
    assert local.returncode == 0, local.stderr
    # The embedded default: debug, plain HTTP, XFF ignored, one process's memory.
    assert local.stdout.split() == ["True", "False", "0", "False", "False", "False", "False", "None", "0",
                                    "django.core.cache.backends.locmem.LocMemCache"]


@pytest.mark.parametrize("variables, reason", [
    ({}, "DJANGO_SECRET_KEY is not set"),
    ({"DJANGO_DEBUG": "false"}, "DJANGO_SECRET_KEY is not set"),
    ({"DJANGO_SECRET_KEY": "insecure-local-development-key-change-me-in-production"}, "a development key"),
    ({"DJANGO_SECRET_KEY": "django-insecure-" + STRONG_KEY}, "a development key"),
    ({"DJANGO_SECRET_KEY": "change-me"}, "weak"),
    ({"DJANGO_SECRET_KEY": "a" * 60}, "weak"),
])
def test_without_a_strong_key_and_with_debug_off_nothing_starts(variables, reason):
    # What gunicorn loads: the web application, DEBUG off unless the environment says otherwise.
    result = django("-c", "import meetingfinder.wsgi", **variables)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and reason in result.stderr, result.stderr
    assert "DJANGO_DEBUG=true" in result.stderr  # says how to run locally


def test_manage_py_with_nothing_set_is_the_embedded_default():
    """A fresh clone's `manage.py makemigrations --check` once failed with a
    bare AppRegistryNotReady: DEBUG was off and there was no key."""
    result = django("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    assert django("-c", PRINT_SETTINGS).returncode != 0  # the same with no DEBUG default refuses


def test_the_image_runs_its_commands_with_debug_off():
    # manage.py turns DEBUG on when nothing says otherwise (the check --deploy test above
    # fails on W018 if the production example stops saying DJANGO_DEBUG=false).
    assert "DJANGO_DEBUG=false" in (ROOT / "Dockerfile").read_text()


def test_a_malformed_proxy_header_setting_is_refused():
    result = django("check", DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0 and "HTTP_X_FORWARDED_PROTO,https" in result.stderr


def test_the_embedded_default_run_turns_debug_on_explicitly():
    makefile = (ROOT / "Makefile").read_text()
    run_target = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "DJANGO_DEBUG=true" in run_target.replace("?=", "=")
    assert django("check", DJANGO_DEBUG="true").returncode == 0


def test_sites_sharing_one_redis_keep_their_cache_keys_apart():
    code = ("import django; django.setup(); from django.core.cache import cache; "
            "print(cache.make_key('answer'))")
    shared = {"DJANGO_DEBUG": "true", "CACHE_URL": "redis://127.0.0.1:6379/9"}
    assert django("-c", code, **shared, CACHE_KEY_PREFIX="oc-intergroup").stdout.strip() == "oc-intergroup:1:answer"
    assert django("-c", code, **shared).stdout.strip() == ":1:answer"
