"""Which peers are trusted proxies: addresses, CIDR ranges, "unix" for unix-socket peers, "*" for any."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The peers whose proxy headers are believed: addresses, CIDR ranges, "unix" (unix sockets), "*"."""

    __slots__ = ("_everyone", "_unix", "_networks")

    def __init__(self, entries: Iterable[str]) -> None:
        self._everyone = False
        self._unix = False
        self._networks: list[_Network] = []
        for entry in (part.strip() for item in entries for part in item.split(",")):
            if entry == "*":
                self._everyone = True
            elif entry == "unix":
                self._unix = True
            elif entry:
                self._networks.append(ipaddress.ip_network(entry, strict=False))

    def trusts_peer(self, peername: Any) -> bool:
        """Whether a connection's peer (the transport's peername: a tuple on TCP) is a trusted proxy."""
        if type(peername) is not tuple:
            return self._everyone or self._unix
        return self.trusts_address(peername[0])

    def trusts_address(self, address: str) -> bool:
        if self._everyone:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d
        return any(ip in network for network in self._networks)
