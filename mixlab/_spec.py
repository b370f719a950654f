"""``Spec``: the base of every user-facing pydantic model (tasks, sources, mixtures, configs).

Frozen, no unknown fields, and construction errors re-raised as a mixlab error whose
message names the object, the field and the fix.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mixlab.errors import MixlabError, describe_validation_error


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    #: what the error message calls this kind of object, e.g. "task"
    spec_kind: ClassVar[str] = "spec"
    #: exception raised for invalid input (a MixlabError that is also a ValueError)
    spec_error: ClassVar[type[MixlabError]] = MixlabError
    #: top-level field -> how to fix it
    spec_hints: ClassVar[dict[str, str]] = {}

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            name = data.get("name") if isinstance(data.get("name"), str) else None
            raise self.spec_error(describe_validation_error(self.spec_kind, name, exc, self.spec_hints)) from None
