"""The training loop on Hugging Face accelerate: the same code on 1 CPU, 1 GPU or many processes.

Step-based: `cfg.train.steps` optimizer updates over as many epochs as that takes. The data
order is a function of (seed, epoch) (accelerate's seedable sampler; datasets with `set_epoch`
get the epoch too), so a resumed run skips the batches already consumed in the current epoch,
restores every process's RNG states and ends with exactly the weights of an uninterrupted run
(with `train.deterministic: true`; on CUDA that also needs CUBLAS_WORKSPACE_CONFIG, set here
before the first cuBLAS call). Only the main process writes files.

Work is never lost to an error or Ctrl-C: the state at the end of each complete step (weights are
untouched until the next optimizer update; RNG and logging window are captured then) is written
as a regular `step_N` checkpoint when anything stops the loop (`engine.failure` words the message
and names the offending file of a data error). A validation cut short is run again on resume.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, gather_object, set_seed
from tqdm.auto import tqdm

from samdistill.config.loader import save_config
from samdistill.config.run_setup import SETUP_FILE, describe_setup
from samdistill.core.errors import ConfigError
from samdistill.core.json_safe import write_json
from samdistill.core.model_file import MODEL_FILE, save_model_file
from samdistill.engine.checkpoint import (METHOD_FILE, capture_rng_state, latest_checkpoint, load_checkpoint,
                                          load_method_state, load_optimizer_state,
                                          method_state_for_checkpoint, restore_rng_state, save_checkpoint)
from samdistill.engine.failure import describe_failure, stop_message
from samdistill.engine.method import Method
from samdistill.engine.optim import apply_lr, build_optimizer

logger = logging.getLogger(__name__)

# Keys that may change between an interrupted run and its resumption without changing the result.
_HASH_IGNORED = {"name", "output_dir", "eval"}
_HASH_IGNORED_TRAIN = {"steps", "val_every", "save_every", "log_every", "progress", "tensorboard"}


def config_hash(cfg: Any) -> str:
    data = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _HASH_IGNORED}
    data["train"] = {k: v for k, v in data["train"].items() if k not in _HASH_IGNORED_TRAIN}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def progress_line(step: int, total: int, record: dict, started: float, first_step: int) -> str:
    """`step 40/2000 (2%) loss 0.0312 lr 1.00e-04 | 3.1 steps/s, 10m32s left` for logs without a bar."""
    rate = (step - first_step) / max(time.monotonic() - started, 1e-9)
    left = int((total - step) / rate) if rate > 0 else 0
    return (f"step {step}/{total} ({100 * step // total}%) loss {record['loss']:.4g} lr {record['lr']:.2e} | "
            f"{rate:.3g} steps/s, {left // 60}m{left % 60:02d}s left")


# Segmentation scores are fractions in the histories; people read them in percent (eval-seg, the demo).
_PERCENT_KEYS = ("miou", "pixel_acc", "mean_class_acc", "mean_dice")


def score_line(record: dict, skip: tuple[str, ...] = ("step",)) -> str:
    """`psnr=27.41, ssim=0.8123, images=4` or `miou=9.25%, pixel_acc=61.30%, ...`: the scalar entries of
    a validation record or a run's result, segmentation scores in percent (per-class lists stay in
    val_history.json)."""
    parts = []
    for key, value in record.items():
        if key in skip or isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        if isinstance(value, float) and key.lower().endswith(_PERCENT_KEYS):
            parts.append(f"{key}={100.0 * value:.2f}%")
        else:
            parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def read_history(path: Path, up_to_step: int) -> list[dict]:
    """History entries of an earlier (interrupted) run, up to the step being resumed."""
    if not path.is_file():
        return []
    try:
        return [r for r in json.loads(path.read_text(encoding="utf-8")) if r.get("step", 0) <= up_to_step]
    except (json.JSONDecodeError, AttributeError, TypeError):
        logger.warning("%s: unreadable, starting a new history", path)
        return []


class Trainer:
    def __init__(self, cfg: Any, method: Method, train_loader: Any, val_loader: Any = None,
                 accelerator: Accelerator | None = None):
        self.cfg, self.tc = cfg, cfg.train
        self.output_dir = Path(cfg.output_dir)
        if self.tc.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        self.accelerator = accelerator or Accelerator(
            mixed_precision=self.tc.mixed_precision,
            log_with="tensorboard" if self.tc.tensorboard else None,
            project_dir=str(self.output_dir),
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=cfg.seed),
        )
        set_seed(cfg.seed)
        optimizer = build_optimizer(method, self.tc.optimizer)
        self.model, self.optimizer, self.train_loader = self.accelerator.prepare(method, optimizer, train_loader)
        self.val_loader = self.accelerator.prepare(val_loader) if val_loader is not None else None
        self.step = self.epoch = self.batch_in_epoch = 0
        self.train_history: list[dict] = []
        self.val_history: list[dict] = []
        self._pending_rng: dict | None = None
        self._saved_step = -1
        self._window: dict[str, float] = {}
        self._window_count = 0
        self._good: dict[str, Any] | None = None  # the last complete step, for a checkpoint after a failure
        self._pending_validation = False
        self._batch_names: list[str] = []
        self._unreadable_val: set[str] = set()
        self._lines, self._started = False, (time.monotonic(), 0)  # periodic log lines instead of a bar
        self._bar: tqdm | None = None  # the training bar while one is shown

    # ------------------------------------------------------------------ public
    @property
    def method(self) -> Method:
        return self.accelerator.unwrap_model(self.model)

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    def fit(self, resume: bool = False) -> dict[str, Any]:
        """Train to `cfg.train.steps`; returns the final validation metrics and last loss."""
        was_deterministic = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(self.tc.deterministic)
        if self.tc.deterministic:
            torch.backends.cudnn.benchmark = False
        if self.tc.flush_denormal:  # CPU-only flag; restored to torch's default (off) below
            torch.set_flush_denormal(True)
        try:
            if self.is_main:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                save_config(self.cfg, self.output_dir / "config.yaml")
                self._write_setup()
            if self.tc.tensorboard:
                self.accelerator.init_trackers("tensorboard")
            if resume:
                self._resume()
            try:
                self._loop()
                self._final_validation()
            except BaseException as err:
                self._stop(err)
            return self._finish()
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
            if self.tc.flush_denormal:
                torch.set_flush_denormal(False)

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        steps_per_epoch = len(self.train_loader)
        if steps_per_epoch == 0:
            raise ConfigError("the training set yields no batch: data.batch_size is larger than the "
                              "training set (per process); lower it or add data")
        if self.is_main:
            logger.info(self._summary())
        # A bar only on a terminal; elsewhere (a log file, a batch job) each log point is a line.
        self._lines = self.is_main and self.tc.progress and not sys.stderr.isatty()
        self._started = (time.monotonic(), self.step)
        bar = tqdm(total=self.tc.steps, initial=self.step, desc=self._progress_name(), dynamic_ncols=True,
                   disable=not (self.is_main and self.tc.progress) or self._lines)
        self._bar = None if bar.disable else bar
        while self.step < self.tc.steps:
            for batch in self._epoch_batches():
                self._batch_names = [str(n) for n in batch.get("name", [])] if isinstance(batch, dict) else []
                self._train_step(batch)
                self.step += 1
                self.batch_in_epoch += 1
                if self.batch_in_epoch >= steps_per_epoch:
                    self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                bar.update(1)
                self._after_step(bar)
                if self.step >= self.tc.steps:
                    break
            else:
                if self.batch_in_epoch:  # loader gave fewer batches than len(): next epoch anyway
                    self.epoch, self.batch_in_epoch = self.epoch + 1, 0
        bar.close()
        self._bar = None

    def _progress_name(self) -> str:
        """The bar's / progress lines' label: `train` and the run folder's name (`train baseline`,
        `train framework`: a demo's stages differ there, not in cfg.name)."""
        return f"train {self.output_dir.name}" if self.output_dir.name else "train"

    def _say(self, line: str) -> None:
        """A line for the user while training: above the bar on a terminal, a log line elsewhere."""
        if not (self.is_main and self.tc.progress):
            return
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            logger.info(line)

    def _epoch_batches(self) -> Iterator[dict]:
        """Batches of the current epoch from the current position; restores RNG after a resume."""
        loader = self.train_loader
        if self.batch_in_epoch:
            loader = self.accelerator.skip_first_batches(self.train_loader, self.batch_in_epoch)
        for dl in (self.train_loader, loader):
            if hasattr(dl, "set_epoch"):
                dl.set_epoch(self.epoch)
        dataset = getattr(self.train_loader, "dataset", None)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.epoch)
        # An uninterrupted run created this epoch's iterator (which draws from the global RNG)
        # before the checkpointed state when resuming mid-epoch, and after it at an epoch start.
        if self._pending_rng is not None and not self.batch_in_epoch:
            self._restore_rng()
        for batch in loader:
            if self._pending_rng is not None:
                self._restore_rng()
            yield batch

    def _restore_rng(self) -> None:
        restore_rng_state(self._pending_rng)
        self._pending_rng = None
        if self._pending_validation:  # the checkpoint was written while this validation ran
            self._pending_validation = False
            self.validate()

    def _train_step(self, batch: dict) -> None:
        self.method.on_step_start(self.step, self)
        lr = apply_lr(self.optimizer, self.step, self.tc.schedule, self.tc.steps)
        self.model.train()
        out = self.model(batch)
        self.accelerator.backward(out.loss)
        logs = dict(out.logs, lr=lr)
        if self.tc.grad_clip is not None:
            logs.update(self._clip_gradients())
        self._good = None  # from here until the step is counted, weights and state disagree
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        logs.setdefault("loss", float(out.loss.detach()))
        for key, value in logs.items():
            self._window[key] = self._window.get(key, 0.0) + float(value)
        self._window_count += 1

    def _clip_gradients(self) -> dict[str, float]:
        """Clip each of the method's parameter groups (e.g. IR1, IR2) to train.grad_clip separately."""
        self.accelerator.unscale_gradients()  # once per step (fp16); grads are already all-reduced
        logs = {}
        for name, params in self.method.grad_clip_groups().items():
            norm = torch.nn.utils.clip_grad_norm_(params, self.tc.grad_clip)
            logs[f"grad_norm_{name}" if name else "grad_norm"] = float(norm)
        return logs

    def _after_step(self, bar: tqdm) -> None:
        step, tc = self.step, self.tc
        if step % tc.log_every == 0 or step == tc.steps:
            self._log(bar)
        validate_now = bool(tc.val_every and step % tc.val_every == 0 and step < tc.steps)
        self._mark_good(pending_validation=validate_now)
        if validate_now:
            self.validate()
            self._mark_good(pending_validation=False)  # validation drew from the RNG
        if tc.save_every and step % tc.save_every == 0 and step < tc.steps:
            self.save()

    def _mark_good(self, pending_validation: bool) -> None:
        """Remember what a checkpoint of the step just completed holds besides the weights."""
        self._good = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                      "rng": capture_rng_state(), "sums": dict(self._window), "count": self._window_count,
                      "pending_validation": pending_validation}

    def _log(self, bar: tqdm) -> None:
        if not self._window_count:
            return
        keys = sorted(self._window)
        local = torch.tensor([self._window[k] / self._window_count for k in keys], device=self.accelerator.device)
        means = self.accelerator.reduce(local, reduction="mean").tolist()
        record = {"step": self.step, "epoch": self.epoch, **dict(zip(keys, means))}
        self._window, self._window_count = {}, 0
        if not torch.isfinite(torch.tensor(record["loss"])):
            raise FloatingPointError(f"training diverged: loss is {record['loss']} at step {self.step} "
                                     "(lower train.optimizer.lr or set train.grad_clip)")
        self.train_history.append(record)
        self.accelerator.log({f"train/{k}": v for k, v in record.items() if k != "step"}, step=self.step)
        bar.set_postfix(loss=f"{record['loss']:.4g}", lr=f"{record['lr']:.2e}", refresh=False)
        if self._lines:
            logger.info(f"{self._progress_name()}: " + progress_line(self.step, self.tc.steps, record, *self._started))

    def _summary(self) -> str:
        """Where and on what this run trains, in one block of lines."""
        acc = self.accelerator

        def count(loader: Any) -> str:
            dataset = getattr(loader, "dataset", None)
            pairs = getattr(dataset, "pairs", None)
            n = len(pairs) if pairs is not None else (len(dataset) if dataset is not None else "?")
            repeat = getattr(dataset, "repeat", 1)
            return f"{n} {'pairs' if pairs is not None else 'items'}" + (f" (x{repeat} per epoch)" if repeat > 1 else "")

        val = count(self.val_loader) if self.val_loader is not None else "none"
        start = f"from step {self.step} " if self.step else ""
        setup = "".join(f"\n  {line}" for line in describe_setup(self.cfg))
        return (f"training on {acc.device} ({acc.num_processes} process{'es' if acc.num_processes > 1 else ''}, "
                f"{self.tc.mixed_precision} mixed precision)\n"
                f"  data: train {count(self.train_loader)}, {len(self.train_loader)} batches per epoch; validation {val}\n"
                f"  steps: {start}to {self.tc.steps} (validate every {self.tc.val_every or 'end'}, "
                f"checkpoint every {self.tc.save_every or 'end'})\n"
                f"  output: {self.output_dir}{setup}")

    def _write_setup(self) -> None:
        """The recipe, mask generator and SGR features this run uses (stand-ins named), kept beside
        its config: what the start-up summary said, for whoever reads the run folder later."""
        lines = describe_setup(self.cfg)
        if lines:
            (self.output_dir / SETUP_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        """Score the method's validator (restoration: PSNR/SSIM; segmentation: mIoU...) over the
        val set, on all processes."""
        if self.val_loader is None:
            return {}
        method = self.method
        validator = method.validator(self.cfg.eval)
        was_training = method.training
        method.eval()
        for batch in self.val_loader:
            errors = batch.get("read_error") if isinstance(batch, dict) else None
            if errors:
                self._report_unreadable(errors)
                getattr(validator, "skip", lambda *a: None)(batch, self.accelerator)
            else:
                validator.update(method, batch, self.accelerator)
        method.train(was_training)
        record: dict[str, Any] = {"step": self.step, **validator.compute()}
        self._say(f"validation at step {self.step}: {score_line(record)}")
        self.val_history.append(record)
        self.accelerator.log({f"val/{k}": v for k, v in record.items()
                              if k != "step" and isinstance(v, (int, float))}, step=self.step)
        self._write_histories()
        return record

    def _report_unreadable(self, errors: list[str]) -> None:
        """Once per file and run: a validation image that became unreadable after the decode check."""
        for error in errors:
            if error and error not in self._unreadable_val:
                self._unreadable_val.add(error)
                logger.warning("validation: skipping an image that cannot be read: %s", error)

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> Path | None:
        """Checkpoint the current step (all processes must call it; the main one writes)."""
        # Per-process state: RNGs and the partly filled logging window (so that the log points
        # of a resumed run equal those of an uninterrupted one).
        per_rank = gather_object([{"rng": capture_rng_state(), "sums": dict(self._window),
                                   "count": self._window_count}])
        path = None
        if self.is_main:
            rng_states = [r.pop("rng") for r in per_rank]
            path = self._write_checkpoint(self.step, self.epoch, self.batch_in_epoch, rng_states, per_rank)
        self._saved_step = self.step
        self.accelerator.wait_for_everyone()
        return path

    def _write_checkpoint(self, step: int, epoch: int, batch_in_epoch: int, rng_states: list[dict],
                          windows: list[dict], **extra: Any) -> Path:
        meta = {"epoch": epoch, "batch_in_epoch": batch_in_epoch, "log_windows": windows,
                "num_processes": self.accelerator.num_processes, "config_hash": config_hash(self.cfg),
                "scheduler": {"kind": "lr_factor(step)", "lr": [g["lr"] for g in self.optimizer.param_groups]},
                **extra}
        state = method_state_for_checkpoint(self.method, self.method.frozen_prefixes())
        path = save_checkpoint(self.output_dir, step, state, self.optimizer.state_dict(), rng_states, meta)
        self._write_histories()
        return path

    def _stop(self, err: BaseException) -> None:
        """Save the last complete step (no collective calls: other processes may not have failed),
        say where it is, and re-raise (a data error from a loader worker as a one-line DataError)."""
        failure = describe_failure(err, self._batch_names)
        path, good = None, self._good
        if self.is_main:
            try:
                if good is not None and (good["step"] != self._saved_step or good["pending_validation"]):
                    path = self._write_checkpoint(
                        good["step"], good["epoch"], good["batch_in_epoch"], [good["rng"]],
                        [{"sums": good["sums"], "count": good["count"]}], stopped_by=failure.text,
                        pending_validation=good["pending_validation"])
                else:
                    path = latest_checkpoint(self.output_dir)
            except Exception as save_err:  # noqa: BLE001 - report the original error, not this one
                logger.error("could not save the last good state: %s", save_err)
            logger.error(stop_message(err, failure, good["step"] if good else self._saved_step, path,
                                      self.accelerator.num_processes))
        if failure.replacement is not None:
            raise failure.replacement from err
        raise err

    def _resume(self) -> None:
        path = latest_checkpoint(self.output_dir)
        if path is None:
            if self.is_main:
                logger.warning("%s: no checkpoint to resume from; training from scratch", self.output_dir)
            return
        ckpt = load_checkpoint(path)
        load_method_state(self.method, ckpt.method_state, path / METHOD_FILE, self.method.frozen_prefixes())
        load_optimizer_state(self.optimizer, ckpt.optimizer_state, path / "optimizer.safetensors")
        meta = ckpt.meta
        self.step, self.epoch, self.batch_in_epoch = ckpt.step, int(meta["epoch"]), int(meta["batch_in_epoch"])
        self._saved_step = self.step
        self._pending_validation = bool(meta.get("pending_validation")) and self.val_loader is not None
        if meta.get("config_hash") != config_hash(self.cfg) and self.is_main:
            logger.warning("%s: resuming with a different config than the checkpoint's; the result "
                           "will not equal an uninterrupted run", path)
        if meta.get("num_processes") != self.accelerator.num_processes and self.is_main:
            logger.warning("%s: saved with %s processes, resumed with %d: the data order changes",
                           path, meta.get("num_processes"), self.accelerator.num_processes)
        rank = self.accelerator.process_index
        self._pending_rng = ckpt.rng_states[rank if rank < len(ckpt.rng_states) else 0]
        windows = meta.get("log_windows") or [{}]
        window = windows[rank if rank < len(windows) else 0]
        self._window, self._window_count = dict(window.get("sums", {})), int(window.get("count", 0))
        self.train_history = read_history(self.output_dir / "train_history.json", self.step)
        self.val_history = read_history(self.output_dir / "val_history.json", self.step)
        if self.is_main:
            logger.info("resumed from step %d (%s)", self.step, path)

    # ------------------------------------------------------------------ end of training
    def _final_validation(self) -> None:
        if self.val_loader is not None and (not self.val_history or self.val_history[-1]["step"] != self.step):
            if self._good is not None:
                self._good["pending_validation"] = True
            self.validate()
            if self._good is not None:
                self._good["pending_validation"] = False

    def _finish(self) -> dict[str, Any]:
        if self._saved_step != self.step:
            self.save()
        if self.is_main:
            method = self.method
            # the model file (core/model_file.py): a state dict and a spec; models/artifact.py loads it
            save_model_file(method.shipped_model().state_dict(), *method.shipped_spec(), self.output_dir / MODEL_FILE,
                            extra={"step": str(self.step), "config_hash": config_hash(self.cfg)})
            for file_name, (network, name, args) in method.extra_artifacts().items():
                save_model_file(network.state_dict(), name, args, self.output_dir / file_name,
                                extra={"step": str(self.step)})
            self._write_histories()
        self.accelerator.wait_for_everyone()
        # Not end_training(): it also destroys the process group, and a program may train again
        # (e.g. baseline then SAM4IR); the CLI destroys it when the command ends.
        for tracker in self.accelerator.trackers:
            tracker.finish()
        result: dict[str, Any] = {"step": self.step}
        if self.val_history:
            result.update({k: v for k, v in self.val_history[-1].items() if k != "step"})
        if self.train_history:
            result["train_loss"] = self.train_history[-1]["loss"]
        return result

    def _write_histories(self) -> None:
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            write_json(self.output_dir / "train_history.json", self.train_history, indent=1)
            write_json(self.output_dir / "val_history.json", self.val_history, indent=1)
