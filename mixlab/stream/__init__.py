"""``MixtureStream``: a seeded, sharded, resumable stream of examples from a mixture.

```
mixture (name, tasks, probabilities)
   -> schedule.py   block b: PCG64 draws -> task per global position -> count -> epoch, offset
   -> permutation.py          example index = keyed Feistel permutation(seed, task, epoch)[offset]
   -> rows.py       rows per task (task.load(split) or data=) -> formatted examples, a chunk at a time
   -> mixture_stream.py       MixtureStream: cursor, shards, state_dict / load_state_dict
```

How positions are planned (all vectorised with numpy, a block of ``block_size`` positions at a time):

```
block b: u = PCG64(SeedSequence(entropy=seed, spawn_key=(SCHEDULE, b))).random(block_size)
         task at global position p = inverse CDF of the live tasks' probabilities at u[p]
         count c = earlier draws of that task (global, all ranks)   epoch = c // n, offset = c % n
         example index = permutation(seed, task name, epoch)[offset]
rank r of w serves the global positions p with p % w == r
```

* Probabilities are the mixture's; tasks are ordered by name; ``n`` is the task's declared size
  of the stream's ``split`` (``task.num_examples[split]``, default ``"train"``). The per-task
  permutation is a keyed Feistel network over ``[0, n)`` (cycle-walking), keyed by a hash of
  ``(seed, task name)`` and the epoch: a fresh shuffle every epoch in O(1) memory, whatever ``n``.
* The same seed gives the same stream on any machine (PCG64 and the Feistel rounds are exact
  integer arithmetic; no global RNG, nothing depends on list position or process).
* Shards are disjoint slices of one global schedule, and example counts are global, so no example
  is served twice across ranks within an epoch; every rank follows the mixture's rates.

Exhaustion policies (a task is *exhausted* once it has served ``n`` examples in the current epoch):

* ``"repeat"`` (default): never stops; a task that runs out starts a new, reshuffled epoch.
* ``"first"``: the stream ends right after the position at which the first task serves its last
  example (every example is served at most once).
* ``"all"``: an exhausted task is no longer drawn and the others are renormalised: the same
  uniform number ``u[p]`` is mapped through the cumulative probabilities of the tasks that are
  still live at ``p``, so each live task keeps its share relative to the other live tasks. The
  stream ends when every example of every task has been served exactly once.
  With ``"first"`` and ``"all"`` all ranks stop at the same global position, so their shares may
  differ by one example.

Formatting is chunk-wise: 256 planned positions at a time, rows are fetched and formatted
with C-level ``map``/``itemgetter`` passes and one list comprehension builds the example dicts,
then the iterator hands them out (``state_dict`` reads how many it has handed out). Rows that
read faster in batches (an HF ``Dataset``: ``__getitems__``) are read with one call per task and
chunk, and chunks are then 1024 long. When anything in a chunk is unusual (a formatter raises or
returns something other than a ``dict`` of ``str``, a row lacks its text, loading fails), that
chunk is redone one example at a time through ``Task.format``, so the ``DataError`` comes at the
exact position of the bad row, after every example before it (formatters are then called twice
for that chunk: keep them pure).

Weights that change: ``set_probabilities(weights, at_position)`` makes the probabilities a step
function of the global position (never changing a position already served); a block with a change
inside is drawn piece by piece, each piece through the CDF of the weights in force there, and the
counts carry over (see :mod:`mixlab.stream.schedule`).

Resume: ``state_dict()`` holds a :mod:`mixlab.resumable` header (kind ``"mixlab.stream"``,
version :data:`STATE_VERSION`), the block index, the offset in the block, the per-task counts
at the block's start and the weights in force there, plus the weight changes after it
(O(#tasks) numbers per change still ahead, constant as the stream advances). ``load_state_dict``
re-plans that block and continues right after the last example served: resume is exact (the tail
is identical, nothing is replayed or skipped) in every case, for every policy, across epoch and
block boundaries. It is refused (``ResumeError``) when the state belongs to another mixture
(name, leaves, probabilities or sizes), split, seed, shard, policy or block size, another kind of
stage or another state version. Exactness assumes the data rows themselves are unchanged: the
state stores positions, not data.

This package needs only a mixture's ``name``, ``tasks`` and leaf probabilities; it does not
import :mod:`mixlab.samplers`.

>>> from mixlab import Task, CallableSource, Mixture
>>> rows = [{"x": str(i)} for i in range(3)]
>>> t = Task(name="demo/t", family="demo", collection="demo", num_examples={"train": 3},
...          source=CallableSource(fn=lambda split: rows), formatter=lambda r: {"inputs": r["x"], "targets": "y"})
>>> s = Mixture.of([(t, 1.0)], name="m").stream(seed=0, exhaustion="first")
>>> sorted(ex["index"] for ex in s)
[0, 1, 2]
"""

from __future__ import annotations

from mixlab.stream.mixture_stream import BLOCK_SIZE, EXHAUSTION, STATE_VERSION, MixtureStream

__all__ = ["BLOCK_SIZE", "EXHAUSTION", "STATE_VERSION", "MixtureStream"]
