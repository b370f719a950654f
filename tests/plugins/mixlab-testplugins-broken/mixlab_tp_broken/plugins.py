"""Plugin functions that fail after import."""

import mixlab


def _task(name):
    return mixlab.Task(
        name=name, family="QA", collection="broken", num_examples={"train": 1},
        source=mixlab.CallableSource(fn=lambda split: [{"q": "x"}]),
        formatter=lambda row: {"inputs": row["q"], "targets": row["q"]},
    )


@mixlab.task_plugin(api=1)
def raises():
    raise RuntimeError("database of tasks is on fire")


@mixlab.task_plugin(api=1)
def not_a_task():
    return [_task("broken/fine"), {"name": "broken/dict"}]


@mixlab.task_plugin(api=1)
def not_iterable():
    return 42


@mixlab.task_plugin(api=1)
def invalid_task():
    return [mixlab.Task(name="broken/neg", family="QA", collection="broken", num_examples={"train": -5},
                        source=mixlab.CallableSource(fn=lambda split: []), formatter=lambda row: row)]


def no_api():
    return [_task("broken/no_api")]


@mixlab.task_plugin(api=99)
def future_api():
    return [_task("broken/future")]


@mixlab.task_plugin(api=1)
def dupe():
    return [_task("dupe/shared")]
