"""What ``R`` counts in ExT5 R-mixing (:meth:`mixlab.samplers.Mixture.rmix`), and the ratio it gives.

``P(self-supervised) = R / (R + 1)`` of what ``unit`` counts:

- ``"examples"`` (default, as seqio): training examples, after a self-supervised document is cut
  into raw-length pieces (each piece is one span-corruption example). The stream draws documents,
  so training (``mixlab.train``) or :func:`mixlab.samplers.units.per_example` lowers the
  self-supervised documents' draw probability by their measured pieces per document.
- ``"documents"``: documents (stream items), before the cut; a long document then gives several
  examples, so the self-supervised share of training examples is above ``R / (R + 1)``.
- ``"tokens"``: tokens; ``tokens_per_example=(avg self-supervised, avg supervised)`` converts it
  to training examples: ``R_examples = R · avg_supervised / avg_self_supervised``.
"""

from __future__ import annotations

import warnings
from typing import Literal

from mixlab._checks import is_finite_number
from mixlab.errors import MixtureSpecError

Unit = Literal["examples", "documents", "tokens"]
UNITS: tuple[str, ...] = ("examples", "documents", "tokens")


def example_ratio(R: float, unit: str, tokens_per_example: tuple[float, float] | None, where: str) -> float:
    """The weight of the self-supervised side against 1 for the supervised side, checked.

    >>> example_ratio(2, "examples", None, "m"), example_ratio(2, "tokens", (512, 64), "m")
    (2.0, 0.25)
    """
    if not is_finite_number(R):
        raise MixtureSpecError(f"{where}: rmix R must be a finite number >= 0 (ExT5 used 2), got {R!r}")
    if unit not in UNITS:
        raise MixtureSpecError(f"{where}: rmix unit must be one of {', '.join(map(repr, UNITS))}, got {unit!r}")
    ratio = float(R)
    if unit != "tokens":
        if tokens_per_example is not None:
            warnings.warn(f"{where}: tokens_per_example does nothing with unit {unit!r}", stacklevel=3)
        return ratio
    if tokens_per_example is None or len(tokens_per_example) != 2:
        raise MixtureSpecError(f"{where}: rmix with unit 'tokens' needs tokens_per_example = "
                               f"(avg tokens per self-supervised example, avg per supervised example)")
    avg_self, avg_sup = (float(x) for x in tokens_per_example)
    for label, value in (("self-supervised", avg_self), ("supervised", avg_sup)):
        if not is_finite_number(value, positive=True):
            raise MixtureSpecError(f"{where}: rmix tokens_per_example for the {label} side must be "
                                   f"finite and > 0, got {value!r}")
    return ratio * avg_sup / avg_self


__all__ = ["UNITS", "Unit", "example_ratio"]
