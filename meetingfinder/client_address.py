"""Who the client is, read one way for throttles, the computing budget and
login lockouts."""

import ipaddress
from functools import lru_cache

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind `NUM_PROXIES` proxies the address that many
    places from the right of X-Forwarded-For: the entry the nearest trusted
    proxy wrote. With NUM_PROXIES 0 the header, which anyone can write, is
    ignored. DRF's own rule, so the change-request throttle agrees."""
    return BaseThrottle().get_ident(request)


@lru_cache(maxsize=4096)  # each computed answer asks it; a client asks many
def client_network(address: str) -> str:
    """Whom a limit is counted for: an IPv4 address, or an IPv6 address's
    /64, the block one home or phone is given (a client can take any address
    in it, so counting per address would give it a fresh count per address).
    The /64 is written as its first address (2001:db8:1:2::), so it is still
    an address where one is kept (django-axes' records, PostgreSQL's inet)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.7 is 192.0.2.7
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network((ip, 64), strict=False).network_address)


def counted_client(request: HttpRequest) -> str:
    """The client every per-client limit counts (change requests, the
    computing budget, admin login failures): the network of its address."""
    return client_network(client_address(request))
