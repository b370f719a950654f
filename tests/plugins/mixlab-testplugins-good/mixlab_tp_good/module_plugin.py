"""A plugin given as a module: MIXLAB_PLUGIN_API and a TASKS list."""

import mixlab

MIXLAB_PLUGIN_API = 1

TASKS = [
    mixlab.Task(
        name="testgood/from_module", family="Classification", collection="testgood", num_examples={"train": 2},
        source=mixlab.CallableSource(fn="mixlab_tp_good:_rows"),
        formatter=lambda row: {"inputs": row["q"], "targets": "yes"},
    )
]
