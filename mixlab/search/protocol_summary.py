"""The ``regmix`` protocol's parts: group mixtures as inline specs, and the summary (fit, held-out Spearman,
proposal, comparison table and figure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mixlab.experiments.protocols.base import Summary, proportional
from mixlab.search.regression import MixtureRegression
from mixlab.search.sampling import Constraints


def group_mixture(name: str, weights: dict[str, float], groups: dict[str, list[str]],
                  cap: float | None = None) -> dict[str, Any]:
    """An inline spec: each group with weight > 0 a component, examples-proportional inside."""
    return {"name": name, "components": [{"mixture": proportional(f"{name}-{group}", groups[group], cap),
                                          "weight": round(float(w), 8)}
                                         for group, w in weights.items() if round(float(w), 8) > 0]}


def write_proposal_spec(path: Path, weights: dict[str, float], groups: dict[str, list[str]], *,
                        cap: float | None, description: str) -> Path:
    """``proposed_mixture.yaml``: the proposal as a mixture spec over the groups' tasks."""
    spec = group_mixture("regmix-proposal", weights, groups, cap) | {"description": description}
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def summarize_regmix(spec: Any, params: Any, groups: dict[str, list[str]], sizes: dict[str, float],
                     weights: np.ndarray, target: np.ndarray, spread: np.ndarray,
                     baselines: dict[str, dict[str, float]], measured: dict[str, tuple[float, float, int]],
                     out: Path, *, title: str) -> Summary:
    """``target``/``spread``: each proxy's mean and std over seeds; ``measured``: name -> (mean, std, seeds)."""
    names = list(groups)
    metric, higher = spec.eval.metric, spec.eval.higher_is_better
    label = f"mean {metric}"
    model = MixtureRegression(params.kind, seed=params.sample_seed, higher_is_better=higher)
    model.fit(weights, target, names=names, targets=[label])
    heldout = model.cross_validate(folds=min(params.folds, len(weights) // 2))
    budget = params.steps * int(spec.train.get("batch_size", 128)) if params.max_epochs is not None else None
    constraints = Constraints(caps=params.caps, max_epochs=params.max_epochs, budget=budget, sizes=sizes,
                              min_weight=params.min_weight)
    proposal = model.propose(params.candidates, prior=params.prior, top_k=min(params.top_k, params.candidates),
                             constraints=constraints)
    spec_path = write_proposal_spec(out / "proposed_mixture.yaml", proposal.weights, groups, cap=params.cap,
                                    description=f"regmix proposal ({params.kind}): predicted {label} "
                                                f"{proposal.predicted:.6g} +- {proposal.spread:.3g}")
    rho = heldout.spearman[label]
    runs = [{"index": i, **{g: round(float(w), 4) for g, w in zip(names, row, strict=True)},
             label: round(float(target[i]), 6), "std_over_seeds": round(float(spread[i]), 6),
             "predicted_out_of_fold": round(float(heldout.predicted[i, 0]), 6)} for i, row in enumerate(weights)]
    best = int(np.argmax(target) if higher else np.argmin(target))
    comparison = _comparison(model, names, proposal, baselines, measured, target, best, params)
    _figure(out / "regmix.png", heldout, label, comparison, rho, params)
    better = "higher" if higher else "lower"
    notes = [f"{params.kind} regression of {label} ({better} is better) over {len(names)} groups from "
             f"{len(weights)} proxy runs x {len(spec.seeds)} seed(s): held-out Spearman {rho:.3f} "
             f"({heldout.method}; folds {', '.join(f'{v:.2f}' for v in heldout.fold_spearman[label])})",
             f"proposal (mean of the top {proposal.top_k} of {proposal.num_candidates} candidates): predicted "
             f"{proposal.predicted:.4f} +- {proposal.spread:.4f}; the best proxy run measured {target[best]:.4f}; "
             f"written to {spec_path} (to train it, rerun with params.proposed naming this file, relative to the "
             f"spec's folder)"]
    if params.compare_steps and params.compare_steps != params.steps:
        notes.append(f"baselines and the proposal train {params.compare_steps} steps, the proxies "
                     f"{params.steps}: their measured values are not on the proxies' scale")
    return Summary(
        title=title,
        tables={"regmix_runs": runs, "regmix_fit": [{"kind": params.kind, "runs": len(weights), "spearman":
                                                      round(rho, 4), "method": heldout.method}],
                "regmix_proposal": [{"group": g, "weight": round(w, 6),
                                     "weight_spread": round(proposal.weight_spread[g], 6)}
                                    for g, w in proposal.weights.items()],
                "regmix_comparison": comparison},
        figures={"regmix.png": f"left: out-of-fold predicted vs measured {label} of the proxy runs (Spearman "
                               f"{rho:.3f}); right: proposal (predicted) against baselines and proxies"},
        notes=notes,
        captions={"regmix_runs": "one row per proxy mixture: group weights, measured target (mean over seeds), "
                                 "its std over seeds, and the out-of-fold prediction",
                  "regmix_comparison": "measured = mean over seeds of the trained mixture; predicted = the "
                                       "regression at the mixture's group weights (proxy scale)"})


def _comparison(model: MixtureRegression, names: list[str], proposal: Any, baselines: dict[str, dict[str, float]],
                measured: dict[str, tuple[float, float, int]], target: np.ndarray, best: int,
                params: Any) -> list[dict[str, Any]]:
    rows = [{"mixture": "proposal (this round)", "steps": params.compare_steps or params.steps,
             "measured": None, "std": None, "seeds": 0, "predicted": round(proposal.predicted, 6),
             "predicted_spread": round(proposal.spread, 6)}]
    if "proposed" in measured:
        mean, std, seeds = measured["proposed"]
        rows.append({"mixture": f"proposed ({params.proposed})", "steps": params.compare_steps or params.steps,
                     "measured": round(mean, 6), "std": round(std, 6), "seeds": seeds, "predicted": None,
                     "predicted_spread": None})
    for name, weights in baselines.items():
        mean, std, seeds = measured.get(name, (float("nan"), 0.0, 0))
        predicted = float(model.predict(np.array([[weights[n] for n in names]]))[0])
        rows.append({"mixture": name, "steps": params.compare_steps or params.steps,
                     "measured": round(mean, 6) if seeds else None, "std": round(std, 6), "seeds": seeds,
                     "predicted": round(predicted, 6), "predicted_spread": None})
    rows.append({"mixture": f"best proxy (#{best})", "steps": params.steps, "measured": round(float(target[best]), 6),
                 "std": None, "seeds": None, "predicted": None, "predicted_spread": None})
    rows.append({"mixture": "median proxy", "steps": params.steps, "measured": round(float(np.median(target)), 6),
                 "std": None, "seeds": None, "predicted": None, "predicted_spread": None})
    return rows


def _figure(path: Path, heldout: Any, label: str, comparison: list[dict[str, Any]], rho: float, params: Any) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.5, 4.6))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    true, predicted = heldout.true[:, 0], heldout.predicted[:, 0]
    low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    pad = 0.05 * (high - low or 1.0)
    left.plot([low - pad, high + pad], [low - pad, high + pad], "--", color="0.6", linewidth=1)
    left.scatter(true, predicted, s=20, color="tab:blue", edgecolors="white", linewidths=0.5)
    left.set_xlabel(f"measured {label}")
    left.set_ylabel(f"predicted {label} (out of fold)")
    left.set_title(f"{params.kind}: held-out Spearman {rho:.3f}", fontsize=10)
    left.grid(alpha=0.3)
    right.scatter(np.zeros_like(true), true, s=14, color="0.6", alpha=0.6, label="proxy runs (measured)")
    for x, row in enumerate(comparison[:-2], start=1):
        if row["measured"] is not None:
            right.errorbar([x], [row["measured"]], yerr=[row["std"] or 0.0], fmt="o", color="tab:blue", capsize=4,
                           label="measured (mean +- std over seeds)")
        if row["predicted"] is not None:
            right.errorbar([x + 0.12], [row["predicted"]], yerr=[row["predicted_spread"] or 0.0], fmt="D",
                           color="tab:orange", capsize=4)
    right.scatter([], [], marker="D", color="tab:orange", label="predicted by the regression")
    right.set_xticks(range(len(comparison) - 1), ["proxies", *(r["mixture"] for r in comparison[:-2])],
                     rotation=20, ha="right", fontsize=8)
    right.set_ylabel(label)
    right.set_title("proposal vs baselines", fontsize=10)
    right.grid(axis="y", alpha=0.3)
    handles, labels = right.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))  # one entry per label
    right.legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
