"""Rate strategies, mixtures, mixture specs and the one resolver from a reference to a mixture.

```
tasks (registry) -> strategies.X.rates(tasks) -> Mixture (tree of weighted components)
                                                   -> leaf probabilities -> MixtureStream
name (entry point "mixlab.mixtures") / spec file / spec dict / MixtureSpec
    -> resolve_mixture(ref, registry=, R=, cap=) -> Mixture (+ provenance)
Mixture + tokenizer + BatchConfig -> per_example(...) -> Mixture.sampling (document draws that make the
                                     probabilities shares of training examples)
```
"""

from mixlab.samplers import strategies
from mixlab.samplers.mixture import Mixture
from mixlab.samplers.named import list_mixtures, mixture_entry_points, mixture_plugin
from mixlab.samplers.resolve import get_mixture, resolve_mixture
from mixlab.samplers.spec import ComponentSpec, MixtureSpec, RMixSpec, TaskSelector
from mixlab.samplers.units import per_example

__all__ = [
    "ComponentSpec", "Mixture", "MixtureSpec", "RMixSpec", "TaskSelector", "get_mixture", "list_mixtures",
    "mixture_entry_points", "mixture_plugin", "per_example", "resolve_mixture", "strategies",
]
