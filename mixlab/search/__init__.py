"""Mixture search from results: regress losses on mixture weights (RegMix, Data Mixing Laws), check the
fit on held-out runs, and propose a mixture within caps and epoch limits.

::

    proxy runs: weights (runs x tasks or families) + target losses      (a results table, any CSV)
       -> MixtureRegression(kind="lightgbm" | "linear" | "mixing_law").fit(weights, losses)
       -> .cross_validate() / .holdout()     Spearman of predicted vs true on unseen runs
       -> .propose(n_candidates, prior, top_k, Constraints(caps, max_epochs, budget, sizes))
              -> Proposal: weights, predicted loss, spread -> .mixture(registry) / .write_spec(path)
       -> .influence()                       -> mixlab.affinity.InfluenceMatrix (t_ij or partial dependences)

CLI: ``mixlab search fit RESULTS --target COL --kind lightgbm``. The ``lightgbm`` kind and reading
tables need the ``search`` extra (``pip install 'mixlab[search]'``); ``linear`` and ``mixing_law``
need numpy only.
"""

from __future__ import annotations

from mixlab.search.mixing_law import MixingLaw, fit_mixing_law
from mixlab.search.models import KINDS
from mixlab.search.proposal import Proposal
from mixlab.search.regression import MixtureRegression
from mixlab.search.sampling import Constraints, sample_mixtures
from mixlab.search.validation import HeldOut

__all__ = ["KINDS", "Constraints", "HeldOut", "MixingLaw", "MixtureRegression", "Proposal", "fit_mixing_law",
           "sample_mixtures"]
