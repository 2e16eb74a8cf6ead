"""Which Host headers the explorer's server answers: its defence against DNS rebinding.

A web page on evil.example can make its own name resolve to this machine's address and then read
the API from the victim's browser — but the browser still sends `Host: evil.example`. So the
server answers only requests that name it the way a user does: by a loopback name, by the address
it was bound to, or (bound to every interface, 0.0.0.0 / ::) by this machine's own host names and
addresses. A name given to the machine elsewhere (a DNS alias, a reverse proxy) is refused too;
open the page by one of `allowed_hosts(...)`'s names instead.
"""
from __future__ import annotations

import ipaddress
import socket

WILDCARDS = ("0.0.0.0", "::", "")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def machine_names() -> list[str]:
    """This machine's host names and addresses, most useful first (its outgoing address, its name)."""
    names = []
    try:  # the address other machines reach: the source of a route outwards (UDP connect sends nothing)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never answered, only routed
            names.append(probe.getsockname()[0])
    except OSError:
        pass
    hostname = socket.gethostname()
    names += [hostname, socket.getfqdn()]
    try:
        names += [info[4][0] for info in socket.getaddrinfo(hostname, None)]
    except OSError:
        pass
    return list(dict.fromkeys(n.lower().split("%")[0] for n in names if n))


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host header values (lower case) a server bound to (host, port) answers."""
    names = set(LOOPBACK_NAMES)
    if host in WILDCARDS:
        names.update(machine_names())
    else:
        names.add(host.lower())
    bracketed = {f"[{n}]" if ":" in n else n for n in names}  # an IPv6 address is written [::1]:port
    return {f"{n}:{port}" for n in bracketed} | (bracketed if port == 80 else set())


def public_name(host: str) -> str:
    """The name to print in the page's URL for a server bound to `host`."""
    if host not in WILDCARDS:
        return host
    outside = [n for n in machine_names() if not is_loopback(n)]
    return outside[0] if outside else "127.0.0.1"
