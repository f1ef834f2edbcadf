"""The training loop: one flat loop a learner can follow.

    for epoch:
        shuffle the windows (host generator, seeded)
        for each minibatch:
            forward (with fresh dropout masks) -> loss -> backward -> clip by global norm
            stop if the loss or the gradient norm is NaN or infinite
            optimizer step
        validation loss -> keep the best weights -> stop early when it stops improving
    restore the best weights

With ``tbptt=k`` the loop instead walks each long sequence in chunks of k steps, in order, carrying
``(h, c)`` from one chunk into the next (stateful training) while gradients stop at chunk
boundaries (truncated backpropagation through time).

With a ``checkpoint`` path, the complete state (weights, best weights, optimizer moments, generator
state, history) is saved atomically after every epoch and when the run is interrupted or diverges;
``resume=True`` continues from it and reaches the same final weights, bit for bit, as a run that
was never interrupted.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from .backend import Array, device_of, from_host, host_rng, like, namespace, to_numpy
from .clipping import clip_grad_norm, global_norm
from .errors import CheckpointError, ConfigError, TrainingDiverged
from .io import check_param_shapes, load_checkpoint, save_checkpoint
from .losses import get_loss, pointwise_loss
from .nn.model import Model, ModelConfig, draw_dropout_masks, model_backward, model_forward
from .optim import OPTIMIZERS, Optimizer, constant_lr, cosine_lr, make_optimizer, step_lr

SCHEDULES = ("constant", "cosine", "step")


@dataclass(frozen=True)
class TrainConfig:
    """How to train; every default is a safe choice for small forecasters."""

    epochs: int = 100  # upper bound; early stopping usually ends sooner
    batch_size: int = 64  # windows per minibatch
    optimizer: str = "adam"  # sgd, rmsprop, adam or adamw (PyTorch's hyperparameter meanings)
    lr: float = 1e-3  # base learning rate
    weight_decay: float = 0.0  # L2 (decoupled for adamw)
    loss: str = "mse"  # mse, mae or huber
    clip_norm: float | None = 1.0  # clip gradients to this global norm every step; None turns it off
    patience: int | None = 10  # stop after this many epochs without a better validation loss; None: never
    schedule: str = "constant"  # learning-rate schedule: constant, cosine (to 0 at the last epoch), step
    step_every: int = 30  # epochs between 10x decays of the "step" schedule
    seed: int = 0  # shuffling and dropout masks
    shuffle: bool = True  # shuffle windows every epoch (ignored in tbptt mode)
    tbptt: int | None = None  # stateful truncated BPTT with chunks of this many steps
    keep_initial: bool = False  # with validation data, keep the initial weights unless training beats them significantly
    log_every: int = 0  # print the losses every this many epochs (0: progress bar only)
    quiet: bool = False  # no progress bar, no log lines

    def __post_init__(self):
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ConfigError(f"clip_norm must be positive or None, got {self.clip_norm}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be at least 1 or None, got {self.patience}")
        if self.tbptt is not None and self.tbptt < 1:
            raise ConfigError(f"tbptt chunk length must be at least 1, got {self.tbptt}")
        get_loss(self.loss)


@dataclass
class History:
    """What happened during training, epoch by epoch (and the gradient norm step by step)."""

    train_loss: list[float] = field(default_factory=list)  # mean minibatch loss per epoch
    val_loss: list[float] = field(default_factory=list)  # validation loss per epoch (empty without validation)
    grad_norm: list[float] = field(default_factory=list)  # global norm before clipping, every step
    lr: list[float] = field(default_factory=list)  # learning rate per epoch
    initial_val_loss: float | None = None  # validation loss of the weights before any training
    best_epoch: int = -1  # epoch (0-based) whose weights were kept; -1: the initial weights
    stop_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _State:
    """Everything needed to continue a run: the snapshot saved in checkpoints."""

    epoch: int  # epochs completed
    step: int  # optimizer steps taken
    best_val: float
    bad_epochs: int
    best_params: dict[str, Array]
    rng_state: dict[str, Any]
    history: History
    params: dict[str, Array] = field(default_factory=dict)  # weights at the end of epoch ``epoch``
    optimizer: tuple[dict, dict] = ({}, {})  # optimizer.state_dict() at the same moment
    finished: bool = False  # the run ended (epochs done or early stop); resuming only restores the kept weights
    initial_params: dict[str, Array] = field(default_factory=dict)  # the untrained weights (for keep_initial)


def _make_optimizer(config: TrainConfig) -> Optimizer:
    return make_optimizer(config.optimizer, config.lr, weight_decay=config.weight_decay)


def _epoch_lr(config: TrainConfig, epoch: int) -> float:
    if config.schedule == "cosine":
        return cosine_lr(epoch, config.lr, config.epochs)
    if config.schedule == "step":
        return step_lr(epoch, config.lr, config.step_every)
    return constant_lr(epoch, config.lr)


def _take(xp, a: Array, rows: np.ndarray) -> Array:
    return xp.take(a, from_host(rows, xp, dtype=xp.int64, device=device_of(a)), axis=0)


def evaluate(model: Model, X: Array, y: Array, loss: str = "mse", batch_size: int = 1024) -> float:
    """Loss of ``model`` (no dropout) on ``X`` against ``y``."""
    value, _ = get_loss(loss)(model.predict(X, batch_size), y)
    return value


def _check_dtypes(model: Model, data: dict[str, Array]) -> None:
    """Mixed dtypes would silently turn float32 weights into float64 after the first step."""
    want = model.params["head.W"].dtype
    for name, a in data.items():
        if a.dtype != want:
            raise ConfigError(f"{name} is {a.dtype} but the model is {want}; cast the data (for example "
                              f"X.astype('{want}')) or create the model with the data's dtype")


def _diverged(step: int, epoch: int, loss: float, norm: float, config: TrainConfig, X: Array) -> str:
    xp = namespace(X)
    largest = float(xp.max(xp.abs(X)))
    causes = [f"a learning rate too high for this problem (lr = {config.lr:g}; try {config.lr / 10:g})"]
    if largest > 10:
        causes.insert(0, f"unscaled inputs (largest |x| = {largest:.3g}; scale the data to about unit size)")
    if config.clip_norm is None:
        causes.append("no gradient clipping (set clip_norm)")
    return (
        f"training diverged at step {step} (epoch {epoch + 1}): loss = {loss}, gradient norm = {norm}. "
        f"Likely cause: {'; or '.join(causes)}."
    )


def train(
    model: Model,
    X: Array,
    y: Array,
    X_val: Array | None = None,
    y_val: Array | None = None,
    config: TrainConfig = TrainConfig(),
    *,
    checkpoint: str | Path | None = None,
    checkpoint_meta: dict[str, Any] | None = None,
    resume: bool = False,
    on_epoch_end: Callable[[int, History], None] | None = None,
) -> History:
    """Train ``model`` in place on windows ``X (N, T, D)`` with targets ``y (N, K)``.

    In ``tbptt`` mode ``X`` is (B, T_total, D) and ``y`` (B, T_total, K), with the model's head on
    every step. Validation data, when given, drives early stopping and the choice of the weights
    that are kept. ``checkpoint_meta`` is stored in the checkpoint next to the training state (the
    forecaster puts its data scaling there). ``on_epoch_end(epoch, history)`` is called after
    every epoch.

    Raises :class:`TrainingDiverged` (with the best weights restored, and saved when
    ``checkpoint`` is set) when the loss or the gradients stop being finite.
    """
    xp = namespace(X, y)
    loss_fn = get_loss(config.loss)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    if config.tbptt is not None and model.config.head != "all":
        raise ConfigError("tbptt training needs a model with head='all' (a target at every step)")
    has_val = X_val is not None and y_val is not None
    _check_dtypes(model, {"X": X, "y": y, **({"X_val": X_val, "y_val": y_val} if has_val else {})})
    optimizer = _make_optimizer(config)
    state = _State(0, 0, math.inf, 0, dict(model.params), host_rng(config.seed).bit_generator.state, History(),
                   initial_params=dict(model.params))
    if resume and checkpoint is not None and Path(checkpoint).exists():
        state = _restore(checkpoint, model, optimizer, config)
        if state.finished:
            model.params = dict(state.best_params)
            return state.history
    rng = np.random.default_rng()
    rng.bit_generator.state = state.rng_state
    history = state.history
    if has_val and state.epoch == 0 and config.keep_initial:
        history.initial_val_loss = evaluate(model, X_val, y_val, config.loss)

    def snapshot() -> _State:
        return _State(state.epoch, state.step, state.best_val, state.bad_epochs, state.best_params,
                      rng.bit_generator.state, history, dict(model.params), optimizer.state_dict(),
                      initial_params=state.initial_params)

    saved = snapshot()
    bar = tqdm(total=config.epochs, initial=state.epoch, disable=config.quiet, desc="training", unit="epoch", file=sys.stderr, leave=False)
    # a diverging run overflows before its loss turns inf or NaN; the loop checks every step itself
    # and stops with a message that says why, so NumPy's own overflow warnings are not wanted here
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for epoch in range(state.epoch, config.epochs):
                optimizer.lr = _epoch_lr(config, epoch)
                losses = []
                for xb, yb, carry in _batches(xp, X, y, config, rng):
                    masks = draw_dropout_masks(model.config, xb.shape[1], xb.shape[0], rng, xb)
                    pred, new_state, cache = model_forward(model.params, model.config, xb, masks, carry.get("state"))
                    loss, dpred = loss_fn(pred, yb)
                    grads, _ = model_backward(cache, dpred)
                    if config.clip_norm is not None:
                        grads, norm = clip_grad_norm(grads, config.clip_norm)
                    else:
                        norm = global_norm(grads)
                    state.step += 1
                    if not (math.isfinite(loss) and math.isfinite(norm)):
                        message = _diverged(state.step, epoch, loss, norm, config, X)
                        raise TrainingDiverged(message)
                    optimizer.step(model.params, grads)
                    history.grad_norm.append(norm)
                    losses.append(loss)
                    carry["state"] = new_state  # used only in tbptt mode
                history.train_loss.append(float(np.mean(losses)))
                history.lr.append(optimizer.lr)
                current = history.train_loss[-1]
                if has_val:
                    current = evaluate(model, X_val, y_val, config.loss)
                    history.val_loss.append(current)
                if current < state.best_val:
                    state.best_val, state.bad_epochs, history.best_epoch = current, 0, epoch
                    state.best_params = dict(model.params)  # the optimizer makes new arrays: no copy needed
                else:
                    state.bad_epochs += 1
                state.epoch = epoch + 1
                saved = snapshot()
                if checkpoint is not None:
                    _save(checkpoint, model.config, config, saved, checkpoint_meta)
                bar.update(1)
                bar.set_postfix(loss=f"{history.train_loss[-1]:.4g}", **({"val": f"{current:.4g}"} if has_val else {}))
                if config.log_every and (epoch + 1) % config.log_every == 0 and not config.quiet:
                    val = f", validation {current:.6g}" if has_val else ""
                    tqdm.write(f"epoch {epoch + 1}/{config.epochs}: training loss {history.train_loss[-1]:.6g}{val}", file=sys.stderr)
                if on_epoch_end is not None:
                    on_epoch_end(epoch, history)
                if has_val and config.patience is not None and state.bad_epochs >= config.patience:
                    history.stop_reason = f"early stop: no validation improvement for {config.patience} epochs"
                    break
            else:
                history.stop_reason = f"finished {config.epochs} epochs"
        except TrainingDiverged as exc:
            history.stop_reason = str(exc)
            model.params = dict(state.best_params)
            kept = f"epoch {history.best_epoch + 1}" if history.best_epoch >= 0 else "the initial weights"
            where = ""
            if checkpoint is not None:
                _save(checkpoint, model.config, config, saved, checkpoint_meta)
                resumable = f"the state after epoch {saved.epoch}" if saved.epoch else "the state before training"
                where = f"; {resumable} is saved in {checkpoint}"
            error = TrainingDiverged(f"{exc} Kept the best weights so far ({kept}){where}.")
            error.history = history
            raise error from None
        except KeyboardInterrupt:
            history.stop_reason = f"interrupted after {saved.epoch} complete epochs"
            if checkpoint is not None:
                _save(checkpoint, model.config, config, saved, checkpoint_meta)
            raise
        finally:
            bar.close()
    model.params = dict(state.best_params)
    if has_val and config.keep_initial and history.initial_val_loss is not None:
        p = _improvement_p_value(model, state.initial_params, X_val, y_val, config.loss)
        if not p < 0.05:
            model.params = dict(state.initial_params)
            history.best_epoch = -1
            history.stop_reason += (f"; kept the untrained weights: training did not beat them significantly on validation "
                                    f"(one-sided paired test p = {p:.3g})")
    if checkpoint is not None:
        final = snapshot()
        final.best_params, final.finished = dict(model.params), True
        _save(checkpoint, model.config, config, final, checkpoint_meta)
    return history


def _improvement_p_value(model: Model, initial: dict[str, Array], X_val: Array, y_val: Array, loss: str) -> float:
    """One-sided p-value that the trained model has a lower validation loss than ``initial``.

    A paired test on the per-window losses, d_i = loss_trained,i - loss_initial,i:
    z = mean(d) / (std(d) / sqrt(n)), p = P(Z <= z). (Windows are treated as independent.)
    """
    trained = model.params
    per_window = []
    for params in (trained, initial):
        model.params = params
        values = to_numpy(pointwise_loss(loss, model.predict(X_val), y_val)).astype(float)
        per_window.append(values.reshape(values.shape[0], -1).mean(axis=1))
    model.params = trained
    d = per_window[0] - per_window[1]
    sd = float(np.std(d, ddof=1)) if len(d) > 1 else 0.0
    if sd == 0.0:
        return 0.0 if float(np.mean(d)) < 0 else 1.0
    z = float(np.mean(d)) / (sd / math.sqrt(len(d)))
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _batches(xp, X: Array, y: Array, config: TrainConfig, rng: np.random.Generator):
    """Minibatches ``(xb, yb, carry)``; ``carry`` is a dict the loop uses to pass state along."""
    if config.tbptt is None:
        N = X.shape[0]
        order = rng.permutation(N) if config.shuffle else np.arange(N)
        for k in range(0, N, config.batch_size):
            rows = np.sort(order[k : k + config.batch_size])
            yield _take(xp, X, rows), _take(xp, y, rows), {}
        return
    carry: dict[str, Any] = {}  # one dict for the whole pass so the state flows from chunk to chunk
    T = X.shape[1]
    for t in range(0, T, config.tbptt):
        yield X[:, t : t + config.tbptt, :], y[:, t : t + config.tbptt, :], carry


# ----------------------------------------------------------------------------------------------
# checkpoints of a training run


def _save(path, model_config: ModelConfig, config: TrainConfig, s: _State, extra: dict | None) -> None:
    opt_meta, opt_arrays = s.optimizer
    arrays = {f"param/{k}": to_numpy(v) for k, v in s.params.items()}
    arrays.update({f"best/{k}": to_numpy(v) for k, v in s.best_params.items()})
    arrays.update({f"init/{k}": to_numpy(v) for k, v in s.initial_params.items()})
    arrays.update({f"opt/{k}": v for k, v in opt_arrays.items()})
    meta = {
        **_model_meta(model_config, arrays["param/head.W"].dtype),
        "optimizer": opt_meta,
        "training": asdict(config),
        "trainer_state": {
            "epoch": s.epoch,
            "step": s.step,
            "best_val": s.best_val if math.isfinite(s.best_val) else None,
            "bad_epochs": s.bad_epochs,
            "rng_state": s.rng_state,
            "history": s.history.to_dict(),
            "finished": s.finished,
        },
        **(extra or {}),
    }
    save_checkpoint(path, arrays, meta)


def _model_meta(config: ModelConfig, dtype) -> dict[str, Any]:
    """The metadata every checkpoint carries about its model."""
    return {"model": config.to_dict(), "gate_order": "i,f,g,o", "dtype": str(dtype)}


def _model_config(path, meta: dict[str, Any]) -> ModelConfig:
    """The architecture a checkpoint records, or :class:`CheckpointError` saying it has none."""
    try:
        return ModelConfig(**meta["model"])
    except (KeyError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"{path} has no valid model description ({exc})") from exc


def _section(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays saved under ``prefix/``, keyed without it."""
    return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def _restore(path, model: Model, optimizer: Optimizer, config: TrainConfig) -> _State:
    arrays, meta = load_checkpoint(path)
    saved_model = _model_config(path, meta)
    if saved_model != model.config:
        raise CheckpointError(f"{path} was trained with model {saved_model}, not {model.config}; use a fresh checkpoint path")
    check_param_shapes(path, _section(arrays, "param"), model.config.param_shapes())
    ref = next(iter(model.params.values()))

    def placed(prefix: str) -> dict[str, Array]:
        return {k: like(v, ref) for k, v in _section(arrays, prefix).items()}

    model.params = placed("param")
    best_params, initial = placed("best"), placed("init")
    optimizer.load_state_dict(meta["optimizer"], _section(arrays, "opt"), model.params)
    ts = meta["trainer_state"]
    history = History(**ts["history"])
    best_val = math.inf if ts["best_val"] is None else ts["best_val"]
    return _State(ts["epoch"], ts["step"], best_val, ts["bad_epochs"], best_params, ts["rng_state"], history,
                  finished=bool(ts.get("finished", False)), initial_params=initial or dict(model.params))


def load_trained_model(path: str | Path, *, xp=None, dtype: str | None = None, device=None) -> tuple[Model, dict[str, Any]]:
    """The model kept by a training run (its best weights) and the checkpoint's metadata.

    Raises :class:`CheckpointError` when the file is not a valid checkpoint or its arrays do not
    match the architecture it records.
    """
    arrays, meta = load_checkpoint(path)
    config = _model_config(path, meta)
    host = _section(arrays, "best") or _section(arrays, "param")
    check_param_shapes(path, host, config.param_shapes())
    from .nn.init import place

    model = Model(config, place(host, xp=xp, dtype=dtype or meta.get("dtype", "float32"), device=device))
    return model, meta


def save_model(path: str | Path, model: Model, meta: dict[str, Any] | None = None) -> None:
    """Save the model's weights and architecture (no training state) for :func:`load_trained_model`."""
    arrays = {f"param/{k}": to_numpy(v) for k, v in model.params.items()}
    save_checkpoint(path, arrays, {**_model_meta(model.config, arrays["param/head.W"].dtype), **(meta or {})})
