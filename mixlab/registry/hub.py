"""Reaching the Hugging Face hub from :class:`~mixlab.registry.HFSource`: fail fast, in one line, when it cannot.

Without network, ``datasets.load_dataset`` retries each request with back-off (about 25 s a data
set), logs every retry, and ends in a ``ConnectionError`` traceback. ``HFSource.load`` instead
opens one TCP connection to each host it needs (:func:`unreachable`, 3 s at most, once per host
and process). When a host cannot be reached, the data set is read from the local ``datasets``
cache only (HF offline mode for that one call: no retries), and when the cache has no copy either,
the error names the data set, what could not be reached and ``MIXLAB_DATA_MIRROR``.

The probe is skipped where it could be wrong: with ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` set
(``datasets`` then never touches the network) and behind an HTTP(S) proxy (a direct connection may
fail where the proxy succeeds); a connection error from ``datasets`` still becomes the one line.

>>> hosts_of(["hf://datasets/x/y/train.csv", "https://example.org/a.json", "rows.jsonl"])
[('huggingface.co', 443), ('example.org', 443)]
>>> is_connection_error(ConnectionError("Couldn't reach 'x' on the Hub (LocalEntryNotFoundError)"))
True
>>> is_connection_error(ValueError("bad column"))
False
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

PROBE_TIMEOUT_S = 3.0
OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_CONNECTION_NAMES = ("Connect", "Timeout", "OfflineModeIsEnabled", "LocalEntryNotFoundError", "NetworkError")


def endpoint() -> tuple[str, int]:
    """Host and port of the hub (``HF_ENDPOINT``, default https://huggingface.co)."""
    return _host_port(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (80 if parts.scheme == "http" else 443)


def hosts_of(locations: Iterable[str], *, hub: bool = False) -> list[tuple[str, int]]:
    """The (host, port) pairs that loading ``locations`` needs: ``hf://`` and ``hub=True`` mean the hub,
    ``http(s)://`` URLs their own host, local paths none. Sorted by first appearance, no repeats."""
    found = [endpoint()] if hub else []
    for location in locations:
        if location.startswith("hf://"):
            found.append(endpoint())
        elif "://" in location:
            found.append(_host_port(location))
    return list(dict.fromkeys(found))


def offline_mode() -> bool:
    """Whether the user switched HF to offline mode (``HF_HUB_OFFLINE=1`` or ``HF_DATASETS_OFFLINE=1``)."""
    return any(os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE") for name in OFFLINE_ENV)


def unreachable(hosts: Iterable[tuple[str, int]]) -> str | None:
    """Why the first of ``hosts`` that cannot be reached cannot be (``"cannot reach host:port (why)"``), else
    ``None``.

    ``None`` without probing when HF offline mode or a proxy is set (see the module docstring).
    """
    if offline_mode() or any(os.environ.get(name) for name in PROXY_ENV):
        return None
    for host, port in hosts:
        reason = probe(host, port)
        if reason is not None:
            return f"cannot reach {host}:{port} ({reason})"
    return None


@functools.lru_cache(maxsize=64)
def probe(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Open (and close) one TCP connection; the reason it failed, or ``None``. Cached per process."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror as exc:
        return f"cannot resolve the host name ({exc.strerror or exc})"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


@contextlib.contextmanager
def cache_only(active: bool = True) -> Iterator[None]:
    """For the calls inside, ``datasets`` and ``huggingface_hub`` read the local cache only (no requests,
    no retries), as with ``HF_HUB_OFFLINE=1``; their settings are restored afterwards."""
    if not active:
        yield
        return
    import datasets.config
    import huggingface_hub.constants

    targets = [(datasets.config, "HF_HUB_OFFLINE"), (datasets.config, "HF_DATASETS_OFFLINE"),
               (huggingface_hub.constants, "HF_HUB_OFFLINE")]
    saved = [(module, name, getattr(module, name)) for module, name in targets if hasattr(module, name)]
    for module, name, _ in saved:
        setattr(module, name, True)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) means the network or the hub could not be reached.

    ``datasets``, ``huggingface_hub``, ``requests`` and ``httpx`` each raise their own types for this,
    so besides ``ConnectionError``/``TimeoutError``/``socket.gaierror`` the class names are matched.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError, socket.gaierror)):
            return True
        if any(part in type(current).__name__ for part in _CONNECTION_NAMES):
            return True
        current = current.__cause__ or current.__context__
    return False


def short_reason(exc: BaseException) -> str:
    """The first line of ``exc``, at most 160 characters: what ``datasets`` said, without its traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = ["cache_only", "endpoint", "hosts_of", "is_connection_error", "offline_mode", "probe", "short_reason",
           "unreachable"]
