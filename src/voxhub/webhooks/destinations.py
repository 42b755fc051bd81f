"""Which webhook destinations voxhub will POST to.

A callback URL must be http(s) with a host and no credentials, and every address its host
resolves to must be public: no private, loopback, link-local, multicast or reserved ranges
(cloud metadata at 169.254.169.254 included) unless `webhook_allow_private` says otherwise.
The check runs when the job is submitted (a clear 422) and again at delivery, against the
address that is actually connected to, so DNS that changes in between cannot steer voxhub inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from voxhub.core.errors import CallbackNotAllowed
from voxhub.settings import WebhookSettings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Unresolvable(CallbackNotAllowed):
    """The host has no address right now: refused at submission, retried at delivery (DNS can
    be down for a while; an address inside the network is refused for good)."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int


def parse(url: str) -> Destination:
    """The URL's parts, or CallbackNotAllowed when it is not a plain http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackNotAllowed(f"callback_url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackNotAllowed("callback_url must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise CallbackNotAllowed("callback_url must not carry credentials")
    return Destination(
        parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)
    )


def is_public(ip: IpAddress) -> bool:
    """Whether an address is on the public internet (an IPv4-mapped IPv6 counts as its IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def allowed(ip: IpAddress, settings: WebhookSettings) -> bool:
    return settings.webhook_allow_private or is_public(ip)


async def resolve(dest: Destination) -> list[IpAddress]:
    """The host's addresses, resolved off the event loop."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            dest.host, dest.port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(f"callback_url host {dest.host!r} does not resolve") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def require_allowed(url: str, settings: WebhookSettings) -> list[IpAddress]:
    """The addresses voxhub may connect to for `url`; CallbackNotAllowed when there are none
    or when any of them is inside the network (a host that resolves both ways is refused)."""
    dest = parse(url)
    addresses = await resolve(dest)
    refused = [ip for ip in addresses if not allowed(ip, settings)]
    if refused or not addresses:
        raise CallbackNotAllowed(
            f"callback_url resolves to {refused[0] if refused else 'nothing'}, which is not a "
            "public address"
        )
    return addresses
