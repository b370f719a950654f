"""``HFSource.load`` without network: fail fast, in one line naming the data set, what could not be
reached and ``MIXLAB_DATA_MIRROR``; use the local cache without retries when it has a copy.

``datasets.load_dataset`` is replaced by a fake that records the HF offline switch it was called under;
no test here touches the network (the probe is replaced too, except on the loopback interface).
"""

from __future__ import annotations

import socket
import time

import datasets
import datasets.config
import huggingface_hub.constants
import pytest

from mixlab import CallableSource, DataError, HFSource, Task
from mixlab.registry import hub


class LocalEntryNotFoundError(Exception):
    """Named like huggingface_hub's: what datasets wraps in ConnectionError when the hub is out of reach."""


class ConnectError(Exception):
    """Named like httpx's, raised without a ConnectionError around it."""


@pytest.fixture
def online_env(monkeypatch):
    """The test suite runs with HF_HUB_OFFLINE=1 (see conftest); these tests need the user's default."""
    for name in (*hub.OFFLINE_ENV, *hub.PROXY_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def fake_loader(monkeypatch, *, cached_rows=None, error=None):
    """Replace datasets.load_dataset; returns the list of (kwargs, offline switch) of each call."""
    calls = []

    def load_dataset(**kwargs):
        offline = datasets.config.HF_HUB_OFFLINE and huggingface_hub.constants.HF_HUB_OFFLINE
        calls.append((kwargs, offline))
        if offline and cached_rows is not None:
            return cached_rows
        if error is not None:
            raise error
        raise ConnectionError(f"Couldn't reach '{kwargs['path']}' on the Hub (OfflineModeIsEnabled)") \
            if offline else AssertionError("the fake hub was asked over the network")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def unreachable_probe(monkeypatch):
    asked = []

    def probe(host, port, timeout=hub.PROBE_TIMEOUT_S):
        asked.append((host, port))
        return "cannot resolve the host name (Name or service not known)"

    monkeypatch.setattr(hub, "probe", probe)
    return asked


MNLI = HFSource(path="nyu-mll/glue", config="mnli")


def test_unreachable_hub_fails_at_once_in_one_line(online_env, monkeypatch):
    asked = unreachable_probe(monkeypatch)
    calls = fake_loader(monkeypatch)
    started = time.perf_counter()
    with pytest.raises(DataError) as info:
        MNLI.load("train")
    assert time.perf_counter() - started < 1.0
    assert str(info.value) == (
        "cannot load hf:nyu-mll/glue config=mnli split 'train': cannot reach huggingface.co:443 (cannot resolve the "
        "host name (Name or service not known)), and the local datasets cache has no copy; fix: copy the data to "
        "<folder>/nyu-mll/glue/mnli/train.{parquet,jsonl,csv,...} and set MIXLAB_DATA_MIRROR=<folder> "
        "(docs/training.md, 'Training offline')")
    assert asked == [("huggingface.co", 443)]
    assert [offline for _, offline in calls] == [True]  # one call, from the cache only: no retries
    assert datasets.config.HF_HUB_OFFLINE is False and huggingface_hub.constants.HF_HUB_OFFLINE is False  # restored


def test_the_task_is_named(online_env, monkeypatch):
    unreachable_probe(monkeypatch)
    fake_loader(monkeypatch)
    task = Task(name="exmix/glue_mnli", family="NLI", collection="exmix", num_examples={"train": 3}, source=MNLI,
                formatter=lambda row: {"inputs": row["premise"], "targets": "x"})
    with pytest.raises(DataError, match=r"^task 'exmix/glue_mnli', split 'train': cannot load hf:nyu-mll/glue "
                                        r"config=mnli split 'train': cannot reach huggingface\.co:443 .*"
                                        r"MIXLAB_DATA_MIRROR=<folder>") as info:
        task.load("train")
    assert "\n" not in str(info.value)


def test_unreachable_hub_with_a_cached_copy_uses_it(online_env, monkeypatch):
    unreachable_probe(monkeypatch)
    rows = [{"premise": "p", "hypothesis": "h", "label": 0}]
    calls = fake_loader(monkeypatch, cached_rows=rows)
    assert MNLI.load("train") is rows
    assert calls == [({"path": "nyu-mll/glue", "split": "train", "name": "mnli"}, True)]


def test_url_files_probe_their_own_host_and_name_their_mirror_path(online_env, monkeypatch):
    asked = unreachable_probe(monkeypatch)
    fake_loader(monkeypatch)
    source = HFSource(path="json", data_files={"train": "https://example.org/data/train.jsonl"})
    with pytest.raises(DataError, match=r"cannot reach example\.org:443 .* copy the data to "
                                        r"<folder>/example\.org/data/train\.jsonl and set MIXLAB_DATA_MIRROR"):
        source.load("train")
    assert asked == [("example.org", 443)]


def test_connection_errors_after_a_good_probe_are_one_line_too(online_env, monkeypatch):
    monkeypatch.setattr(hub, "probe", lambda host, port, timeout=3.0: None)
    wrapped = ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub (LocalEntryNotFoundError)")
    wrapped.__cause__ = LocalEntryNotFoundError("\n".join(["long", "traceback"] * 20))
    for error in (wrapped, ConnectError("[Errno 111] Connection refused"), TimeoutError("timed out")):
        calls = fake_loader(monkeypatch, error=error)
        with pytest.raises(DataError, match=r"^cannot load hf:nyu-mll/glue config=mnli split 'train': cannot reach "
                                            r"the hub \(datasets: .+\), and the local datasets cache has no copy; "
                                            r"fix: .*MIXLAB_DATA_MIRROR") as info:
            MNLI.load("train")
        assert "\n" not in str(info.value) and info.value.__cause__ is error
        assert [offline for _, offline in calls] == [False]


def test_other_errors_pass_through(online_env, monkeypatch):
    monkeypatch.setattr(hub, "probe", lambda host, port, timeout=3.0: None)
    fake_loader(monkeypatch, error=ValueError("BuilderConfig 'mnlii' not found"))
    with pytest.raises(ValueError, match="BuilderConfig 'mnlii' not found"):
        MNLI.load("train")


def test_no_probe_in_hf_offline_mode_behind_a_proxy_or_for_local_files(online_env, monkeypatch, tmp_path):
    def probe(host, port, timeout=3.0):
        raise AssertionError(f"probed {host}:{port}")

    monkeypatch.setattr(hub, "probe", probe)
    fake_loader(monkeypatch, cached_rows=[])
    local = tmp_path / "rows.jsonl"
    local.write_text('{"a": 1}\n')
    monkeypatch.setattr(datasets, "load_dataset", lambda **kwargs: kwargs)
    assert MNLI.load("train", local_files=str(local))["path"] == "json"
    assert HFSource(path="csv", data_files={"train": str(local)}).load("train")["path"] == "csv"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert MNLI.load("train")["path"] == "nyu-mll/glue"
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert MNLI.load("train")["path"] == "nyu-mll/glue"


def test_probe_reports_a_refused_connection_quickly():
    with socket.socket() as sock:  # a port nobody listens on: bound, then closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    reason = hub.probe.__wrapped__("127.0.0.1", port, 2.0)
    assert reason is not None and "refused" in reason.lower()
    assert time.perf_counter() - started < 2.0
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert hub.probe.__wrapped__("127.0.0.1", server.getsockname()[1], 2.0) is None


def test_hosts_and_connection_errors():
    assert hub.hosts_of(["rows.jsonl"]) == []
    assert hub.hosts_of(["hf://datasets/a/b.csv", "hf://datasets/a/c.csv"], hub=True) == [("huggingface.co", 443)]
    assert hub.hosts_of(["http://example.org:8080/x.json"]) == [("example.org", 8080)]
    outer = RuntimeError("wrapped")
    outer.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert hub.is_connection_error(outer)
    assert not hub.is_connection_error(KeyError("label"))


def test_callable_and_file_sources_never_probe(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "probe", lambda *a, **k: pytest.fail("probed"))
    assert CallableSource(fn=lambda split: [{"a": 1}]).load("train") == [{"a": 1}]
