"""Rate strategies, mixtures and mixture specs.

```
tasks (registry) -> strategies.X.rates(tasks) -> Mixture (tree of weighted components)
                                                   -> leaf probabilities -> MixtureStream
spec dict / YAML / TOML / JSON / entry point "mixlab.mixtures" -> MixtureSpec.build(registry)
```
"""

from mixlab.samplers import strategies
from mixlab.samplers.mixture import Mixture
from mixlab.samplers.named import get_mixture, list_mixtures, mixture_entry_points, mixture_plugin
from mixlab.samplers.spec import ComponentSpec, MixtureSpec, RMixSpec, TaskSelector

__all__ = [
    "ComponentSpec", "Mixture", "MixtureSpec", "RMixSpec", "TaskSelector", "get_mixture", "list_mixtures",
    "mixture_entry_points", "mixture_plugin", "strategies",
]
