"""The trainer's side of mixtures that change: which policy, its signals, and where a change takes effect.

```
step s done ──(per-task loss sums, token counts [, excess over the reference model]) summed over processes
           ──▶ policy.observe ──▶ new weights? ──▶ the loop restarts its data from the state after batch s,
               reads the stream items that state still refers to, takes the largest stream position over
               every process (all_gather) and sets the change there; prefetched batches are dropped
```

So a change decided after step ``s`` takes effect at a position fixed by the data state after batch
``s`` (not by how far the prefetcher had read), every process uses the same position, and the data
state saved in the checkpoint holds the change: a run killed at any moment resumes with the same
batches. The policy's state (and the per-process sums between two updates) are saved too.

A scheduled mixture gets :class:`~mixlab.policies.FixedSchedule` unless the config names a policy;
DoReMi scores every batch with the reference run's model as well (a forward pass per step: about a
third of a training step's compute for a model of the same size).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mixlab.errors import CheckpointError, ConfigError, ResumeError
from mixlab.policies import Policy, PolicySpec, StepStats, make_policy
from mixlab.train.loss import token_cross_entropy

log = logging.getLogger(__name__)
MODEL_KEYS = ("input_ids", "encoder_segment_ids", "decoder_input_ids", "decoder_segment_ids")


class MixingControl:
    """One run's policy, the per-process sums it needs between updates, and the reference model (DoReMi)."""

    def __init__(self, policy: Policy, backend: Any, *, every: int = 1, reference: Any = None,
                 reweight: bool = False) -> None:
        self.policy, self.backend, self.every, self.reference = policy, backend, every, reference
        self.num_tasks = len(policy.task_names)
        # DoReMi as published: the data keeps the mixture's weights p, each task's token losses are weighted by
        # alpha / p (this tensor, updated in place); otherwise the policy's weights go to the data
        self.sampling = policy.weights.copy()
        self.reweight = reweight
        self.loss_weights = torch.ones(self.num_tasks, device=backend.device) if reweight else None
        self.sums = self.counts = self.excess = torch.zeros(0)  # this process's sums since the last update
        self.num_steps = 0
        self._reset()

    @classmethod
    def build(cls, config: Any, source: Any, backend: Any, vocab_size: int) -> MixingControl | None:
        """The control ``config`` asks for (``config.policy``, or the mixture's schedule), else ``None``."""
        from mixlab.samplers.mixture_schedule import MixtureSchedule, initial_probabilities

        mixture = getattr(source, "mixture", None)
        schedule = None if mixture is None else MixtureSchedule.from_mixture(mixture)
        spec: PolicySpec | None = getattr(config, "policy", None)
        if spec is None and schedule is None:
            return None
        if spec is None:
            spec = PolicySpec(kind="schedule")
        if schedule is not None and spec.kind != "schedule":
            assert mixture is not None
            raise ConfigError(f"mixture {mixture.name!r} follows a schedule and policy {spec.kind!r} would move its "
                              "weights too; fix: remove the policy, or use a mixture without a schedule")
        if mixture is None or not hasattr(source, "set_probabilities"):
            raise ConfigError(f"policy {spec.kind!r} changes mixture weights, but the training data "
                              f"({type(source).__name__}) has none to change; fix: train on a mixture (data: mixture)")
        policy = make_policy(spec, list(source.task_names), initial_probabilities(mixture), schedule)
        reweight = spec.kind == "doremi" and spec.apply != "data"
        if reweight and config.loss_scaling != "none":
            raise ConfigError("doremi weights the task losses (apply: loss), and so does loss_scaling "
                              f"{config.loss_scaling!r}; fix: set loss_scaling: none, or doremi apply: data")
        reference = None
        if policy.needs_reference:
            assert spec.reference is not None
            reference = load_reference(spec.reference, vocab_size, backend)
        return cls(policy, backend, every=spec.every, reference=reference, reweight=reweight)

    @property
    def weights(self) -> dict[str, float]:
        """The policy's weights (the data's too, unless the policy reweights the loss)."""
        return self.policy.as_dict(self.policy.weights)

    def start(self, source: Any, fresh: bool, loss_weights: torch.Tensor | None) -> torch.Tensor | None:
        """Before the first batch: a fresh run's data starts with the policy's weights (ODM: uniform); returns the
        per-task loss weights the train step uses (DoReMi's alpha / p tensor, updated in place, or ``loss_weights``)."""
        if fresh and not self.reweight and self.weights != initial_weights(source):
            source.set_probabilities(self.weights, at_position=0)
        return self.loss_weights if self.reweight else loss_weights

    def _set_loss_weights(self) -> None:
        ratio = np.divide(self.policy.weights, self.sampling, out=np.zeros(self.num_tasks), where=self.sampling > 0)
        assert self.loss_weights is not None
        self.loss_weights.copy_(torch.as_tensor(ratio, dtype=torch.float32))

    # -- per step ------------------------------------------------------------------------------------------
    def step_extras(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Inside the train step: per-task sums of ``max(loss - reference loss, 0)`` over target tokens."""
        if self.reference is None:
            return None
        with torch.no_grad():
            with self.backend.autocast():
                ref_logits = self.reference(*(batch[k] for k in MODEL_KEYS))
            proxy, valid = token_cross_entropy(logits.detach(), batch["labels"])
            ref, _ = token_cross_entropy(ref_logits, batch["labels"])
            excess = torch.clamp(proxy - ref, min=0.0) * valid
            ids = batch["decoder_task_ids"]
            safe = torch.where(ids >= 0, ids, torch.zeros_like(ids)).long().reshape(-1)
            return torch.zeros(self.num_tasks, dtype=torch.float32, device=excess.device).scatter_add(
                0, safe, excess.reshape(-1))

    def after_step(self, step: int, outputs: tuple[torch.Tensor, ...]) -> dict[str, float] | None:
        """Observe step ``step`` (``outputs``: the train step's); new weights, or ``None`` to keep them."""
        if not self.policy.needs_losses:  # a fixed schedule: the step alone decides, no device sync
            zeros = np.zeros(self.num_tasks)
            return self.policy.observe(StepStats(step=step, loss_sums=zeros, token_counts=zeros))
        self.sums = self.sums + outputs[1].float()
        self.counts = self.counts + outputs[2].float()
        if self.reference is not None:
            self.excess = self.excess + outputs[4]
        self.num_steps += 1
        if step % self.every:
            return None
        vector = torch.cat([self.sums, self.counts, self.excess])
        totals = np.asarray(self.backend.to_host(self.backend.all_reduce_sum(vector)), dtype=np.float64)
        k, covered = self.num_tasks, self.num_steps
        self._reset()
        weights = self.policy.observe(StepStats(step=step, loss_sums=totals[:k], token_counts=totals[k:2 * k],
                                                excess_sums=totals[2 * k:] if self.reference is not None else None,
                                                num_steps=covered))
        if self.reweight and weights is not None:
            self._set_loss_weights()
            return None
        return weights

    def _reset(self) -> None:
        device = self.backend.device
        self.sums = torch.zeros(self.num_tasks, device=device)
        self.counts = torch.zeros(self.num_tasks, device=device)
        self.excess = torch.zeros(self.num_tasks, device=device)
        self.num_steps = 0

    def summary(self) -> dict[str, Any]:
        """The log's ``policy`` record: kind, the policy's weights and what it reports (DoReMi: signal, average)."""
        return {"kind": self.policy.kind, "weights": self.weights, **self.policy.summary()}

    # -- state ---------------------------------------------------------------------------------------------
    def local_state(self) -> dict[str, Any]:
        """This process's sums since the last update (gathered by the trainer, one entry per process)."""
        host = self.backend.to_host(torch.cat([self.sums, self.counts, self.excess]))
        return {"sums": np.asarray(host, dtype=np.float64).tolist(), "num_steps": self.num_steps}

    def state_dict(self, local_states: list[dict[str, Any]]) -> dict[str, Any]:
        return {"policy": self.policy.state_dict(), "every": self.every, "local": local_states}

    def load_state_dict(self, state: dict[str, Any], rank: int, world_size: int) -> None:
        """Restore the policy and this process's sums (another process count: rank 0 takes them all)."""
        self.policy.load_state_dict(state["policy"])
        if self.reweight:
            self._set_loss_weights()
        local = state.get("local") or []
        if len(local) == world_size:
            mine = local[rank]
        else:
            mine = {"sums": np.sum([entry["sums"] for entry in local], axis=0).tolist() if rank == 0 and local
                    else [0.0] * 3 * self.num_tasks,
                    "num_steps": max((entry["num_steps"] for entry in local), default=0)}
        values = torch.tensor(mine["sums"], dtype=torch.float32, device=self.backend.device)
        k = self.num_tasks
        self.sums, self.counts, self.excess = values[:k].clone(), values[k:2 * k].clone(), values[2 * k:].clone()
        self.num_steps = int(mine["num_steps"])

    def finish(self, out_dir: Path, run_name: str) -> Path | None:
        """DoReMi: write the averaged weights as a mixture spec (``<run>/doremi_mixture.yaml``) for the main run."""
        average = getattr(self.policy, "average", None)
        if average is None:
            return None
        import yaml

        weights = average()
        spec = {"name": f"{run_name}-doremi",
                "description": f"DoReMi's averaged weights after {self.policy.num_updates} updates "  # type: ignore[attr-defined]
                               f"of run {run_name} (mixlab.policies.DoReMi)",
                "components": [{"task": name, "weight": weight} for name, weight in weights.items()]}
        path = Path(out_dir) / "doremi_mixture.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        log.info("wrote DoReMi's averaged weights to %s", path)
        return path


def initial_weights(source: Any) -> dict[str, float] | None:
    """The leaf probabilities a mixture source starts with (a scheduled mixture's first stage); ``None`` without one."""
    mixture = getattr(source, "mixture", None)
    if mixture is None:
        return None
    from mixlab.samplers.mixture_schedule import initial_probabilities

    return dict(initial_probabilities(mixture))


def change_weights(source: Any, data_state: Any, weights: dict[str, float], backend: Any) -> Any:
    """Restart ``source`` from ``data_state`` (the state after the last batch trained on) with ``weights`` taking
    effect at the largest first free stream position over all processes; returns the new data state.

    The position is a function of the saved states alone (each process reads the stream items its state
    still refers to, then they agree on the largest position), so a resumed run makes the same change there."""
    own = source.prepare_change(data_state)
    source.set_probabilities(weights, at_position=max(backend.all_gather_object(own)))
    return source.state_dict()


def restore_mixing(control: MixingControl | None, state: dict[str, Any] | None, folder: Path, backend: Any) -> bool:
    """Load a checkpoint's mixing state into ``control``; refuse a checkpoint trained with another policy (or none)."""
    if (state is None) != (control is None):
        saved = "no policy" if state is None else f"policy {state['policy']['kind'].rsplit('.', 1)[-1]!r}"
        now = "none" if control is None else repr(control.policy.kind)
        raise ResumeError(f"checkpoint {folder} was trained with {saved}, this run's config has {now}; fix: resume "
                          f"with the saved run's policy and mixture (see its config.yaml), or start a new run")
    if control is None or state is None:
        return False
    control.load_state_dict(state, backend.rank, backend.world_size)
    return True


def load_reference(path: str, vocab_size: int, backend: Any) -> torch.nn.Module:
    """The model of a finished mixlab run (or checkpoint), on ``backend.device``, frozen, in eval mode."""
    from mixlab.run_folder import RunFolder
    from mixlab.train.checkpoint import resolve_checkpoint
    from mixlab.train.config import PretrainConfig
    from mixlab.train.model import PackedT5, build_model

    try:
        folder = resolve_checkpoint(path)
    except CheckpointError as exc:
        raise ConfigError(f"doremi reference {path!r}: {exc}; fix: point reference at the finished reference run "
                          f"(step 1 of the recipe in docs/training.md)") from None
    run = folder.parent.parent if folder.parent.name == "checkpoints" else Path(path)
    config_file = RunFolder(run).config
    if not config_file.is_file():
        raise ConfigError(f"doremi reference {path!r}: no {config_file} next to checkpoint {folder}; fix: give the "
                          f"folder of a run made by mixlab train")
    ref_config = PretrainConfig.from_file(config_file)
    t5 = build_model(ref_config.model.shape, vocab_size, seed=0, dropout_rate=0.0)
    state = {k.removeprefix("t5."): v for k, v in backend.load(str(folder / "model.pt")).items()}
    try:
        t5.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(f"doremi reference {path!r} ({folder}) does not fit a {ref_config.model.preset!r} model "
                          f"with this run's vocabulary of {vocab_size}: {str(exc)[:200]}; fix: train the reference "
                          f"with the same tokenizer") from exc
    model = PackedT5(t5).to(backend.device)
    model.eval()
    model.requires_grad_(False)
    log.info("DoReMi reference model from %s", folder)
    return model


__all__ = ["MixingControl", "change_weights", "initial_weights", "load_reference", "restore_mixing"]
