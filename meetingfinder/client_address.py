"""The client's address, read one way for throttles and login lockouts."""

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind `NUM_PROXIES` proxies the address that many
    places from the right of X-Forwarded-For: the entry the nearest trusted
    proxy wrote. With NUM_PROXIES 0 the header, which anyone can write, is
    ignored. DRF's own rule, so the change-request throttle agrees."""
    return BaseThrottle().get_ident(request)
