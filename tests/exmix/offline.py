"""Offline copies of the ExMix and C4 data, in the layouts mixlab reads without a network.

Each ExMix task gets its fixture row (``fixtures/rows.jsonl``, in the source's real schema):
hub data sets and files named by URL go into a data mirror (``MIXLAB_DATA_MIRROR``, see
``HFSource.mirror_files``), user-provided files under ``MIXLAB_EXMIX_DATA``; C4 gets a few
texts in its own schema. Used by the tests that train on the ``ext5`` mixture.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import mixlab_exmix
import mixlab_wordnet

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_rows() -> dict[str, dict]:
    lines = (FIXTURES / "rows.jsonl").read_text("utf-8").splitlines()
    return {r["task"]: r["row"] for r in map(json.loads, lines)}


def _render(row: dict, builder: str) -> str:
    if builder == "text":
        return row["text"] + "\n"
    if builder == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
        return out.getvalue()
    return json.dumps(row) + "\n"


def write_offline_copies(mirror: Path, user_dir: Path) -> dict[str, int]:
    """Write every ExMix task's train rows and C4's; returns how many files went where."""
    rows = fixture_rows()
    counts = {"mirror": 0, "user": 0}
    for entry in mixlab_exmix.entries():
        row = rows[entry.name]
        if entry.data_files is None:
            path = mirror / entry.path / (entry.config or "default") / f"{entry.train_split}.jsonl"
            text, where = json.dumps(row) + "\n", "mirror"
        else:
            named = entry.data_files[entry.train_split]
            name = named if isinstance(named, str) else named[0]
            text = _render(row, entry.path)
            if "://" in name:
                path, where = mirror / name.split("://", 1)[1], "mirror"
            elif entry.provided == "hub":  # a pattern inside the hub repository: one parquet file matching it
                path, where = mirror / entry.path / name.replace("*", "fixture"), "mirror"
                text = None
            else:
                path, where = user_dir / name, "user"
            if not isinstance(named, str):  # several files for one split: the same row in each
                for other in named[1:]:
                    extra = mirror / other.split("://", 1)[1] if "://" in other else user_dir / other
                    extra.parent.mkdir(parents=True, exist_ok=True)
                    extra.write_text(text, encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist([row]), path)
        else:
            path.write_text(text, encoding="utf-8")
        counts[where] += 1
    paragraphs = [json.loads(line)["text"] for line in
                  (mixlab_wordnet.data_dir() / "text.train.jsonl").read_text("utf-8").splitlines()[:40]]
    c4 = mirror / "allenai" / "c4" / "en" / "train.jsonl"
    c4.parent.mkdir(parents=True, exist_ok=True)
    c4.write_text("".join(json.dumps({"text": t, "timestamp": "2019-04-25T12:57:54Z", "url": f"https://example.org/{i}"})
                          + "\n" for i, t in enumerate(paragraphs)), encoding="utf-8")
    counts["mirror"] += 1
    return counts
