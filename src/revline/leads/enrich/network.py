"""Network helpers for enrichment: is the internet reachable, which URLs to try, same-site tests."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from revline.kernel.config import Settings

PROBE_TIMEOUT_S = 1.5

# Offline extractor: the bundled public-suffix snapshot, never a download at runtime.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def is_ip(host: str) -> bool:
    """True for IPv4/IPv6 literals (brackets allowed)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_local_host(host: str) -> bool:
    """Loopback, private or link-local addresses and localhost-style names need no probe."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if not host:
        return False
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return addr.is_loopback or addr.is_private or addr.is_link_local


async def network_available(settings: Settings, hosts: Sequence[str]) -> bool:
    """True when fetching can work: any local host, or the probe host resolves within ~1.5s."""
    for host in hosts:
        name = urlsplit(host).hostname if "://" in host else host.split(":")[0]
        if name and is_local_host(name):
            return True
    probe = settings.network_probe_host

    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bool] = loop.create_future()

    def resolve() -> None:
        try:
            ok = bool(socket.getaddrinfo(probe, 443, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError):
            ok = False
        if not loop.is_closed():
            loop.call_soon_threadsafe(_settle, answer, ok)

    # A daemon thread, not the default executor: asyncio.run() would wait for a hung resolver.
    threading.Thread(target=resolve, name="revline-net-probe", daemon=True).start()
    try:
        return await asyncio.wait_for(answer, PROBE_TIMEOUT_S)
    except TimeoutError:
        return False


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """example.co.uk for www.shop.example.co.uk; IPs and single labels map to themselves."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if not host or is_ip(host):
        return host
    parts = _EXTRACT(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host


def same_site(url: str, home: str) -> bool:
    """Same registered domain (IP hosts must match exactly, including the port)."""
    a, b = urlsplit(url), urlsplit(home)
    host_a, host_b = (a.hostname or ""), (b.hostname or "")
    if is_ip(host_a) or is_ip(host_b) or host_a == "localhost":
        return a.netloc.lower() == b.netloc.lower()
    return registered_domain(host_a) == registered_domain(host_b)


def clean_domain(domain: str) -> str:
    """Host part of whatever the lead had in its domain column (scheme, path, case removed)."""
    value = domain.strip().lower()
    if "://" in value:
        value = urlsplit(value).netloc
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return value.rstrip(".")


def candidate_urls(website_url: str | None, domain: str | None) -> list[str]:
    """URLs to try in order: the given URL, else https/http of the domain and its www variant."""
    if website_url and website_url.strip():
        url = website_url.strip()
        if "://" in url:
            parts = urlsplit(url)
            if parts.scheme.lower() in ("http", "https") and parts.netloc:
                return [url if parts.path else url + "/"]
            return []
        domain = url
    if not domain or not clean_domain(domain):
        return []
    host = clean_domain(domain)
    hosts = [host]
    if not is_ip(host.split(":")[0]) and "." in host and not is_local_host(host.split(":")[0]):
        hosts.append(host[4:] if host.startswith("www.") else f"www.{host}")
    return [f"{scheme}://{h}/" for h in hosts for scheme in ("https", "http")]
