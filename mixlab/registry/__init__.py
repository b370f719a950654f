"""Task records, their sources, and the entry-point registry.

```
entry points (group "mixlab.tasks") -> plugins.discover -> call_task_plugin -> Registry
                                                                     Task(source, formatter)
```
"""

from mixlab.registry.plugins import PLUGIN_API_VERSION, LoadError, PluginInfo, task_plugin
from mixlab.registry.registry import Registry, TaskRecord, load_registry
from mixlab.registry.sources import CallableSource, FileSource, HFSource
from mixlab.registry.task import Task

__all__ = [
    "PLUGIN_API_VERSION", "CallableSource", "FileSource", "HFSource", "LoadError", "PluginInfo",
    "Registry", "Task", "TaskRecord", "load_registry", "task_plugin",
]
