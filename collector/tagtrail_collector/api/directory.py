"""Sites and gateways as the carriers' views see them, cached for a few seconds.

Every location and tracking answer names sites and asks whether a gateway is mobile; these
change only when an operator edits the registry. Looking each up once per 30 s instead of once
per request keeps the registry off the hot path; an edit shows in carriers' answers within 30 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, Generic, TypeVar

from tagtrail_collector.errors import NotFound
from tagtrail_collector.store.registry.records import Gateway, Site
from tagtrail_collector.store.registry.registry import Registry

TTL_S: Final = 30.0
T = TypeVar("T")


class _Cached(Generic[T]):
    """``lookup(id)`` results (found or not) kept for ``ttl_s``; bounded, thread-safe."""

    def __init__(self, lookup: Callable[[str], T], ttl_s: float, limit: int = 10_000) -> None:
        self._lookup, self._ttl_s, self._limit = lookup, ttl_s, limit
        self._entries: dict[str, tuple[float, T | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self._ttl_s:
            return entry[1]
        try:
            value: T | None = self._lookup(key)
        except NotFound:
            value = None
        with self._lock:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[key] = (now, value)
        return value


class Directory:
    def __init__(self, registry: Registry, ttl_s: float = TTL_S) -> None:
        self._sites = _Cached(registry.site, ttl_s)
        self._gateways = _Cached(registry.gateway, ttl_s)

    def site(self, site_id: str) -> Site | None:
        return self._sites.get(site_id)

    def require_site(self, site_id: str) -> Site:
        """The site; NotFound (404) for one that is not registered."""
        site = self._sites.get(site_id)
        if site is None:
            raise NotFound(f"no site {site_id!r}")
        return site

    def gateway(self, gateway_id: str) -> Gateway | None:
        return self._gateways.get(gateway_id)
