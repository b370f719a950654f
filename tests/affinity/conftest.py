"""Shared fixtures: a 3-node table worked by hand and the ExT5 Table 2 file."""

from __future__ import annotations

from pathlib import Path

import pytest

TABLE2 = Path(__file__).resolve().parents[2] / "examples" / "data" / "table2_cotraining.csv"

# Baselines: b1 A=10 B=20 C=40; b2 A=20 B=25 C=50. Co-training (budget "co"):
#   A->B 22, A->C 36, B->A 12, B->C 44, C->A 9, C->B 18
HAND_ROWS = [
    {"source": "A", "target": "A", "score": 10, "budget": "b1"},
    {"source": "A", "target": "A", "score": 20, "budget": "b2"},
    {"source": "B", "target": "B", "score": 20, "budget": "b1"},
    {"source": "B", "target": "B", "score": 25, "budget": "b2"},
    {"source": "C", "target": "C", "score": 40, "budget": "b1"},
    {"source": "C", "target": "C", "score": 50, "budget": "b2"},
    {"source": "A", "target": "B", "score": 22, "budget": "co"},
    {"source": "A", "target": "C", "score": 36, "budget": "co"},
    {"source": "B", "target": "A", "score": 12, "budget": "co"},
    {"source": "B", "target": "C", "score": 44, "budget": "co"},
    {"source": "C", "target": "A", "score": 9, "budget": "co"},
    {"source": "C", "target": "B", "score": 18, "budget": "co"},
]


@pytest.fixture
def hand_rows() -> list[dict]:
    return [dict(r) for r in HAND_ROWS]


@pytest.fixture
def hand_graph(hand_rows):
    from mixlab.affinity import transfer_graph

    return transfer_graph(hand_rows)


@pytest.fixture
def table2():
    from mixlab.affinity import transfer_graph

    return transfer_graph(TABLE2)
