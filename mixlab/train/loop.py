"""The ExT5 training loop, written against ``mixlab.backends.Backend`` only.

``train(config)`` builds the data (mixture stream -> ``mixlab.text.batches``, sharded by the
backend's rank), a T5.1.1 model driven with packed segment masks, Adafactor with the rsqrt
schedule, then runs ``config.steps`` steps: per-task losses, tokens/s and the input pipeline's share
of wall time go to ``metrics.jsonl``; teacher-forced eval every ``eval_interval`` steps; atomic
checkpoints every ``checkpoint_interval`` steps. ``resume=True`` continues from the newest good
checkpoint with the same batches (bit-identical losses on the torch CPU backend).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mixlab.backends import Backend, get_backend
from mixlab.environment import write_environment
from mixlab.errors import CheckpointError, ConfigError
from mixlab.run_folder import RunFolder
from mixlab.train.adafactor import Adafactor
from mixlab.train.checkpoint import CheckpointManager, resolve_checkpoint
from mixlab.train.config import PretrainConfig
from mixlab.train.data import BatchSource, Prefetcher, as_source, with_states
from mixlab.train.data_factory import DataFactory, build_data
from mixlab.train.digest import batch_digest, example_digest, global_digests
from mixlab.train.elastic import DataShards, restore_rng
from mixlab.train.loss import compute_loss, muppet_weights
from mixlab.train.metrics import MetricsLog
from mixlab.train.mixing import MixingControl, change_weights, initial_weights, restore_mixing
from mixlab.train.model import T5_VOCAB_SIZE, PackedT5, build_model, count_parameters
from mixlab.train.schedule import make_schedule
from mixlab.train.window import LogWindow

log = logging.getLogger(__name__)

MODEL_KEYS = ("input_ids", "encoder_segment_ids", "decoder_input_ids", "decoder_segment_ids")
#: called after every step as ``hook(trainer)``; a dict it returns is written to metrics.jsonl with the step
StepHook = Callable[["Trainer"], "dict[str, Any] | None"]


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    out_dir: Path
    step: int
    last_metrics: dict[str, Any]
    checkpoint: Path | None


def train(config: PretrainConfig, *, out_dir: str | Path | None = None, steps: int | None = None,
          resume: bool = False, backend: Backend | None = None, data: DataFactory | None = None,
          registry: Any = None, progress: bool = True, hooks: Sequence[StepHook] = ()) -> TrainResult:
    """Run (or resume) training as ``config`` says; ``out_dir``/``steps`` override the config's.

    ``hooks`` run after every step (after the teacher-forced eval, before the checkpoint); what they return
    goes to ``metrics.jsonl`` (``mixlab.finetune`` evaluates with task metrics and keeps the best model so).

    ``data(config, backend, vocab_size, split)`` may replace the default data sources (the mixture's
    stream through ``mixlab.text.batches``); see :mod:`mixlab.train.data_factory`.
    """
    updates = {k: v for k, v in (("out_dir", str(out_dir) if out_dir else None), ("steps", steps)) if v is not None}
    config = PretrainConfig(**{**config.to_dict(), **updates}) if updates else config
    owned = backend is None
    backend = backend or get_backend(config.backend.name, **config.backend.options())
    backend.setup()
    try:
        trainer = Trainer(config, backend, data=data or build_data, registry=registry, hooks=hooks)
        return trainer.fit(resume=resume, progress=progress)
    finally:
        if owned:
            backend.close()


class Trainer:
    """One run's objects: data, model, optimizer, schedule, checkpoints, metrics."""

    def __init__(self, config: PretrainConfig, backend: Backend, *, data: DataFactory, registry: Any = None,
                 hooks: Sequence[StepHook] = ()) -> None:
        self.config, self.backend, self.hooks = config, backend, tuple(hooks)
        self.out_dir = Path(config.out_dir)
        tokenizer = _load_tokenizer(config.tokenizer)
        self.vocab_size = config.model.vocab_size or (tokenizer.vocab_size if tokenizer else T5_VOCAB_SIZE)
        if registry is None and config.data == "mixture":  # once, for the train and the eval source
            from mixlab.registry import load_registry

            registry = load_registry()
        self.shards = DataShards(data, config, backend, self.vocab_size, tokenizer, registry)  # virtual data shards
        self.source: BatchSource = self.shards.build(config.data_shards or backend.world_size)
        self.eval_source: BatchSource | None = None
        if config.eval_interval:
            found = data(config, backend, self.vocab_size, tokenizer=tokenizer, registry=registry,
                         split=config.eval_split)
            self.eval_source = None if found is None else as_source(found, "data factory (eval split)")
        self.task_names = list(self.source.task_names)
        self.mixture_weights = initial_weights(self.source)  # the target weights in force (logged as task_weights)
        self.mixing = MixingControl.build(config, self.source, backend, self.vocab_size)  # a policy or a schedule
        if self.mixing is not None:
            self.mixture_weights = self.mixing.weights
        t5 = build_model(config.model.shape, self.vocab_size, seed=config.seed, dropout_rate=config.model.dropout_rate)
        self.num_parameters = count_parameters(t5)  # before the backend wraps or shards it (env.json, the report)
        if config.init_from:
            self._init_weights(t5, config.init_from)
        self.model = backend.prepare_model(PackedT5(t5))
        self.schedule = make_schedule(config.lr_schedule, base_lr=config.learning_rate,
                                      warmup_steps=config.warmup_steps)
        self.lr = torch.tensor(self.schedule(0), dtype=torch.float32, device=backend.device)
        self.optimizer = Adafactor(self.model.parameters(), lr=self.lr)
        weights = None
        if config.loss_scaling == "muppet":
            _check_output_sizes(self.task_names, config.output_space_sizes)
            weights = muppet_weights(self.task_names, config.output_space_sizes)
        self.task_weights = torch.tensor(weights, device=backend.device) if weights else None
        self.checkpoints = CheckpointManager(RunFolder(self.out_dir).checkpoints, keep=config.keep_checkpoints,
                                             save_fn=backend.save, load_fn=backend.load)
        self.metrics = MetricsLog(self.out_dir, enabled=backend.is_main)
        self.step_fn = backend.compile(self._train_step)
        self.step, self.data_state = 0, None
        self._eval_batches: list[dict[str, Any]] | None = None  # host batches of the eval split, made once
        backend.seed(config.seed * 1009 + backend.rank)

    # -- setup ---------------------------------------------------------------------------------
    def _init_weights(self, t5: torch.nn.Module, path: str) -> None:
        folder = resolve_checkpoint(path)
        state = self.backend.load(str(folder / "model.pt"))
        state = {k.removeprefix("t5."): v for k, v in state.items()}
        try:
            t5.load_state_dict(state)
        except RuntimeError as exc:
            raise ConfigError(f"init_from {path!r} ({folder}) does not fit model {self.config.model.preset!r} with "
                              f"vocab {self.vocab_size}: {str(exc)[:300]}; fix: use the same model shape") from exc
        log.info("initialised model weights from %s (fresh optimizer)", folder)

    def _restore(self, resume: bool) -> None:
        existing = self.checkpoints.steps()
        if not resume:
            if existing:
                raise ConfigError(f"{self.out_dir} already holds checkpoints (steps {existing}); pass resume=True "
                                  "(--resume) to continue, or choose another out_dir (--out)")
            return
        folder = self.checkpoints.latest()
        if folder is None:
            if existing:
                problems = "; ".join(f"{f.name}: {why}" for f, why in reversed(self.checkpoints.skipped.items()))
                raise CheckpointError(f"cannot resume: no checkpoint under {self.checkpoints.root} verifies "
                                      f"({problems}); fix: restore a good copy, or start a new run with another "
                                      "out_dir (or init_from a good checkpoint)")
            log.warning("resume asked but %s holds no checkpoint; starting from step 0", self.checkpoints.root)
            return
        parts = self.checkpoints.load(folder, ("model", "optimizer", "trainer"))
        trainer = parts["trainer"]
        self.backend.load_state_dict(self.model, self.optimizer, {"model": parts["model"],
                                                                  "optimizer": parts["optimizer"]})
        self.step = trainer["step"]
        self.source, self.data_state = self.shards.restore(trainer, folder, self.source)  # any process count dividing
        restore_rng(self.backend, trainer["rng"])  # the data shards (mixlab.train.elastic)
        if restore_mixing(self.mixing, trainer.get("mixing"), folder, self.backend):
            self.mixture_weights = self.mixing.weights  # type: ignore[union-attr]
        log.info("resumed from %s at step %d", folder, self.step)

    def _write_run_files(self) -> None:
        if not self.backend.is_main:
            return
        import yaml

        folder = RunFolder(self.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        folder.config.write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
        mixture = getattr(self.source, "mixture", None)
        if mixture is not None:
            mixture.write_manifest(folder.mixture_manifest)
        write_environment(self.out_dir, device=str(self.backend.device), backend=self.backend.name,
                          world_size=self.backend.world_size, precision=self.backend.precision,
                          model={"preset": self.config.model.preset, **self.config.model.shape,
                                 "vocab_size": self.vocab_size},
                          num_parameters=self.num_parameters)

    # -- the loop ------------------------------------------------------------------------------
    def _train_step(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        with self.backend.autocast():
            logits = self.model(*(batch[k] for k in MODEL_KEYS))
        out = compute_loss(logits, batch["labels"], batch["decoder_task_ids"], len(self.task_names),
                           z_loss=self.config.z_loss, task_weights=self.task_weights)
        self.backend.backward(out.loss)
        self.backend.optimizer_step(self.optimizer)
        outputs = out.loss.detach(), out.task_loss_sums, out.task_token_counts, out.token_correct
        extra = None if self.mixing is None else self.mixing.step_extras(logits, batch)  # DoReMi: excess losses
        return outputs if extra is None else (*outputs, extra)

    def fit(self, *, resume: bool = False, progress: bool = True) -> TrainResult:
        from tqdm.auto import tqdm

        self._restore(resume)
        self._write_run_files()
        self.backend.barrier()
        self.metrics.truncate_after(self.step)
        config, backend = self.config, self.backend
        window = LogWindow(len(self.task_names), backend.device)
        if self.data_state is not None:
            self.source.load_state_dict(self.data_state)
        if self.mixing is not None:  # the policy's first weights (data or loss: DoReMi weights the loss in place)
            self.task_weights = self.mixing.start(self.source, self.data_state is None, self.task_weights)
        # the producer thread pairs each batch with the state after it: checkpoints save the last one trained on
        batches = Prefetcher(with_states(self.source), depth=2)
        self.model.train()  # once, not per step; _evaluate switches back after its batches
        bar = tqdm(total=config.steps, initial=self.step, disable=not (progress and backend.is_main),
                   desc=config.name, unit="step")
        last: dict[str, Any] = {}
        saved: Path | None = None
        try:
            while self.step < config.steps:
                waited = time.perf_counter()
                host_batch, self.data_state = next(batches)
                if config.log_batch_digest:
                    window.digests.append(batch_digest(host_batch))
                    window.example_sums.append(example_digest(host_batch))
                window.tokens += int(np.count_nonzero(host_batch["input_ids"])
                                     + np.count_nonzero(host_batch["labels"] >= 0))
                window.shares.add(host_batch)
                batch = backend.to_device(host_batch)
                window.data_seconds += time.perf_counter() - waited
                self.lr.fill_(self.schedule(self.step))
                outputs = self.step_fn(batch)
                window.add(outputs[:4])
                self.step += 1
                bar.update(1)
                if self.step % config.log_interval == 0 or self.step == config.steps:
                    last = self._log(window)
                    bar.set_postfix(loss=f"{last['loss']:.4f}")
                if self.eval_source is not None and self.step % config.eval_interval == 0:
                    last = {**last, **self._evaluate()}
                if self.mixing is not None:
                    batches = self._mix(batches, outputs)
                for hook in self.hooks:
                    extra = hook(self)
                    if extra:
                        self.metrics.write({"step": self.step, **extra})
                        last = {**last, **extra}
                interval = config.checkpoint_interval
                if (interval and self.step % interval == 0) or self.step == config.steps:
                    saved = self._save()
            if self.mixing is not None and backend.is_main and self.step == config.steps:
                self.mixing.finish(self.out_dir, config.name)  # DoReMi: the averaged weights as a mixture spec
        finally:
            batches.close()
            bar.close()
            self.metrics.close()
        return TrainResult(out_dir=self.out_dir, step=self.step, last_metrics=last, checkpoint=saved)

    def _mix(self, batches: Prefetcher, outputs: tuple[torch.Tensor, ...]) -> Prefetcher:
        """The policy observes this step; new weights restart the data (see :mod:`mixlab.train.mixing`)."""
        weights = self.mixing.after_step(self.step, outputs)  # type: ignore[union-attr]
        if weights is None:
            return batches
        batches.close(wait=True)  # its batches were drawn with the old weights
        self.data_state = change_weights(self.source, self.data_state, weights, self.backend)
        self.mixture_weights = weights
        return Prefetcher(with_states(self.source), depth=2)

    def _log(self, window: LogWindow) -> dict[str, Any]:
        backend = self.backend
        loss_sum, correct, sums, counts = window.reduce(backend)  # to_host waits for the device
        seconds = time.perf_counter() - window.started
        # host-side counts of each process's own rows: gathered on the host, whatever the backend's device layout
        tokens = float(sum(backend.all_gather_object(window.tokens)))
        replicas = backend.world_size if backend.per_process_values else 1
        target_tokens = sum(counts)
        record = {
            "step": self.step,
            "loss": loss_sum / (window.num_steps * replicas),
            "ce": math.fsum(sums) / max(target_tokens, 1.0),
            "accuracy": correct / max(target_tokens, 1.0),
            "lr": self.schedule(self.step - 1),
            "task_loss": {n: s / c for n, s, c in zip(self.task_names, sums, counts, strict=True) if c > 0},
            "task_tokens": {n: int(c) for n, c in zip(self.task_names, counts, strict=True) if c > 0},
            "tokens": int(tokens),
            "tokens_per_s": tokens / seconds if seconds > 0 else 0.0,
            "steps_per_s": window.num_steps / seconds if seconds > 0 else 0.0,
            "data_share": window.data_seconds / seconds if seconds > 0 else 0.0,
        }
        data_stats = getattr(self.source, "stats", None)
        if data_stats:  # this process's counts of skipped / truncated / empty data (see docs/troubleshooting.md)
            record["data"] = dict(data_stats)
        if self.mixture_weights is not None:  # the weights the data is drawn with now (they change under a policy)
            record["task_weights"] = dict(self.mixture_weights)
        if self.mixing is not None:
            record["policy"] = self.mixing.summary()
        if self.config.log_batch_digest:
            record["batch_digests"] = list(window.digests)
            record["example_digests"] = global_digests(backend.all_gather_object(window.example_sums))
        record.update(window.shares.record(self.task_names, backend.all_gather_object))  # realised task shares
        self.metrics.write(record)
        window.reset()
        return record

    @torch.no_grad()
    def _evaluate(self) -> dict[str, Any]:
        source = self.eval_source
        assert source is not None
        self.model.eval()
        window = LogWindow(len(source.task_names), self.backend.device)
        if self._eval_batches is None:  # the same eval batches every time: made once
            self._eval_batches = list(itertools.islice(source, self.config.eval_batches))
        for host_batch in self._eval_batches:
            batch = self.backend.to_device(host_batch)
            with self.backend.autocast():
                logits = self.model(*(batch[k] for k in MODEL_KEYS))
            out = compute_loss(logits, batch["labels"], batch["decoder_task_ids"], len(source.task_names))
            window.add((out.loss, out.task_loss_sums, out.task_token_counts, out.token_correct))
        _, correct, sums, counts = window.reduce(self.backend)
        target_tokens = max(sum(counts), 1.0)
        record = {"step": self.step, "eval_loss": math.fsum(sums) / target_tokens,
                  "eval_accuracy": correct / target_tokens,
                  "eval_task_loss": {n: s / c for n, s, c in zip(source.task_names, sums, counts, strict=True)
                                     if c > 0}}
        self.metrics.write(record)
        self.model.train()
        return record

    def _save(self) -> Path | None:
        backend = self.backend
        state = backend.state_dict(self.model, self.optimizer)
        data_states = backend.all_gather_object(self.data_state)
        rng_states = backend.all_gather_object(backend.rng_state())
        mixing = None if self.mixing is None else backend.all_gather_object(self.mixing.local_state())
        folder = None
        if backend.is_main:
            trainer = {"step": self.step, "world_size": backend.world_size, "data": data_states, "rng": rng_states,
                       "config": self.config.to_dict(), "data_shards": self.shards.num_shards}
            if self.mixing is not None and mixing is not None:
                trainer["mixing"] = self.mixing.state_dict(mixing)
            folder = self.checkpoints.save(self.step, {"model": state["model"], "optimizer": state["optimizer"],
                                                       "trainer": trainer})
        backend.barrier()
        return folder


def _check_output_sizes(task_names: list[str], sizes: dict[str, int]) -> None:
    """Muppet scaling: warn about tasks without an output-space size (weight 1) and unknown names."""
    unknown = sorted(set(sizes) - set(task_names))
    if unknown:
        raise ConfigError(f"output_space_sizes names tasks that are not in the mixture: {unknown[:5]}; "
                          f"fix: use names from {task_names[:5]}...")
    unsized = [name for name in task_names if name not in sizes]
    if unsized:
        warnings.warn(f"loss_scaling 'muppet': {len(unsized)} task(s) have no output_space_sizes entry and keep "
                      f"weight 1: {', '.join(unsized[:8])}{' ...' if len(unsized) > 8 else ''}", stacklevel=4)


def _load_tokenizer(path: str | None) -> Any:
    if path is None:
        return None
    from mixlab.text import load_tokenizer

    return load_tokenizer(path)

