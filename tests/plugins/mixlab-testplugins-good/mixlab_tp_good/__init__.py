"""A plugin function providing two tasks plus one name that the broken distribution also claims."""

import mixlab


def _rows(split):
    return [{"q": f"{split} question {i}", "a": f"answer {i}"} for i in range(3)]


def _task(name, family, n=3):
    return mixlab.Task(
        name=name, family=family, collection="testgood", num_examples={"train": n},
        source=mixlab.CallableSource(fn="mixlab_tp_good:_rows"),
        formatter=lambda row: {"inputs": row["q"], "targets": row["a"]},
        tags={"test"},
    )


@mixlab.task_plugin(api=1)
def tasks():
    return [_task("testgood/qa", "QA"), _task("testgood/qa_small", "QA", 1), _task("dupe/shared", "QA")]
