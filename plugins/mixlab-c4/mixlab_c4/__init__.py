"""C4 (``allenai/c4``, config ``en``) as the self-supervised task ``c4/span_corruption``.

```
hub allenai/c4 en --HFSource--> rows {text, timestamp, url} --Task.format--> {"text"} --> span corruption
```

Rows come from the hub when a run loads them; offline, ``task.source.load(split,
local_files=...)`` reads local files with C4's schema instead.
"""

from __future__ import annotations

import mixlab

__all__ = ["NUM_EXAMPLES", "span_corruption", "tasks"]

# Sizes of allenai/c4 "en" (datasets' c4 dataset_infos.json).
NUM_EXAMPLES = {"train": 364_868_892, "validation": 364_608}

CITATION = ("Colin Raffel, Noam Shazeer, Adam Roberts, Katherine Lee, Sharan Narang, Michael Matena, Yanqi Zhou, "
            "Wei Li, Peter J. Liu (2020). Exploring the Limits of Transfer Learning with a Unified Text-to-Text "
            "Transformer. JMLR 21(140): 1-67.")


def span_corruption() -> mixlab.Task:
    """The ExT5 self-supervised objective's data: C4 English web text, column ``text``."""
    return mixlab.Task(
        name="c4/span_corruption",
        family="Self-supervised",
        collection="c4",
        num_examples=dict(NUM_EXAMPLES),
        source=mixlab.HFSource(path="allenai/c4", config="en", splits={"train": "train", "validation": "validation"}),
        self_supervised=True,
        text_field="text",
        tags=frozenset({"self-supervised", "corpus"}),
        citation=CITATION,
        license="ODC-BY-1.0 (and the Common Crawl terms of use)",
        description="Colossal Clean Crawled Corpus, English; T5 span corruption (noise 0.15, mean span 3) on 'text'",
        version="1.0.0",
    )


@mixlab.task_plugin(api=1)
def tasks() -> list[mixlab.Task]:
    """The C4 task."""
    return [span_corruption()]
