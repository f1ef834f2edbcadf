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
the state from one chunk into the next (stateful training) while gradients stop at chunk boundaries
(truncated backpropagation through time).

With a ``checkpoint`` path, the complete state (weights, best weights, optimizer moments, generator
state, history) is saved atomically after every epoch and when the run is interrupted or diverges
(``scratchlstm.checkpoint``); ``resume=True`` continues from it (or, where there is no file yet, starts and says so
unless ``quiet``) and reaches the same final weights,
bit for bit, as a run that was never interrupted. It must have the same settings: a resume with
others is refused, naming them (only ``log_every`` and ``quiet``, which change nothing but the output,
may differ).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .backend import Array, device_of, from_host, host_rng, is_array, is_masked, masked_array_refusal, namespace, to_numpy
from .checkpoint import TrainingState, check_caller_meta, load_training_state, save_training_state
from .clipping import clip_grad_norm, global_norm
from .errors import CheckpointError, ConfigError, DataError, TrainingDiverged
from .losses import LOSSES, get_loss
from .nn.kernels.threads import blas_threads_for, step_work
from .nn.model import Model, draw_dropout_masks, model_backward, model_forward
from .nn.kernels import compiled_kernel
from .nn.shapes import ENGINES, check_one_dtype, dtype_name
from .optim import OPTIMIZERS, Optimizer, constant_lr, cosine_lr, make_optimizer, step_lr
from .progress import progress_bar
from .settings import check_fields, setting

SCHEDULES = ("constant", "cosine", "step")
DISPLAY_ONLY = ("log_every", "quiet")  # the settings that change what is shown, never the weights: a resume may change them


@dataclass(frozen=True)
class TrainConfig:
    """How to train; every default is a safe choice for small models."""

    epochs: int = setting(100, "maximum epochs; early stopping usually ends sooner", at_least=1, group="training")
    batch_size: int = setting(64, "windows per minibatch", at_least=1, group="training")
    optimizer: str = setting("adam", "optimizer, with PyTorch's meaning of every hyperparameter", choices=tuple(OPTIMIZERS),
                             group="training")
    lr: float = setting(1e-3, "base learning rate", above=0.0, group="training")
    weight_decay: float = setting(0.0, "L2 penalty (decoupled for adamw)", at_least=0.0, group="training")
    loss: str = setting("mse", "training loss", choices=tuple(LOSSES), group="training")
    clip_norm: float | None = setting(1.0, "clip gradients to this global norm every step; 'none' turns it off", above=0.0,
                                      flag="--clip", none_word="none", group="training")
    patience: int | None = setting(10, "stop after this many epochs without a better validation loss; 'none': never",
                                   at_least=1, none_word="none", group="training")
    schedule: str = setting("constant", "learning-rate schedule: constant, cosine (from lr towards 0, which it would reach "
                            "one epoch after the last, as torch's CosineAnnealingLR with T_max = epochs) or step "
                            "(10x lower every step_every epochs)", choices=SCHEDULES, group="training")
    step_every: int = setting(30, "epochs between the 10x decays of the step schedule", at_least=1, group="training")
    seed: int = setting(0, "seed of the shuffling and the dropout masks", at_least=0, group="training")
    shuffle: bool = setting(True, "shuffle the windows every epoch (ignored with tbptt)", group="training")
    tbptt: int | None = setting(None, "stateful truncated BPTT over long sequences, in chunks of this many steps "
                                "(needs a head on every step)", at_least=1, none_word="none", group="training")
    engine: str = setting("fast", "which code runs the layers: fast (the speed kernel where there is one), compiled "
                          "(the NumPy kernel compiled, the batch in slices side by side; needs Numba and SciPy) or "
                          "reference (the code the docs derive)", choices=ENGINES, group="training")
    log_every: int = setting(0, "print the losses every this many epochs (0: progress bar only)", at_least=0, group="training")
    quiet: bool = setting(False, "no progress bar, no log lines", group="training")

    def __post_init__(self):
        check_fields(self)
        if self.engine == "compiled":
            compiled_kernel()  # Numba missing: said now, with the install, not by a worker in the middle of a run


@dataclass
class History:
    """What happened during training, epoch by epoch (and the gradient norm step by step)."""

    train_loss: list[float] = field(default_factory=list)  # mean minibatch loss per epoch
    val_loss: list[float] = field(default_factory=list)  # validation loss per epoch (empty without validation)
    grad_norm: list[float] = field(default_factory=list)  # global norm before clipping, every step
    lr: list[float] = field(default_factory=list)  # learning rate per epoch
    best_epoch: int = -1  # epoch (0-based) whose weights were kept
    stop_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(model: Model, X: Array, y: Array, loss: str = "mse", *, batch_size: int = 1024, engine: str = "reference") -> float:
    """Loss of ``model`` (no dropout) on ``X`` against ``y``."""
    if hasattr(X, "shape") and len(X.shape) > 0 and X.shape[0] == 0:  # the mean of no losses divided by zero
        raise DataError("X holds no windows: evaluate needs at least one")
    value, _ = get_loss(loss)(model.predict(X, batch_size=batch_size, engine=engine), y)
    return value


def train(model: Model, X: Array, y: Array, X_val: Array | None = None, y_val: Array | None = None,
          config: TrainConfig = TrainConfig(), *, checkpoint: str | Path | None = None,
          checkpoint_meta: dict[str, Any] | None = None, resume: bool = False,
          on_epoch_end: Callable[[int, History], None] | None = None) -> History:
    """Train ``model`` in place on windows ``X (N, T, D)`` with targets ``y (N, K)``.

    In ``tbptt`` mode ``X`` is (B, T_total, D) and ``y`` (B, T_total, K), with the model's head on
    every step. Validation data, when given, drives early stopping and the choice of the weights
    that are kept. ``checkpoint_meta`` is stored in the checkpoint next to the training state (the
    forecaster puts its data scaling there). ``on_epoch_end(epoch, history)`` is called after every
    epoch.

    Raises ``TrainingDiverged`` (with the best weights restored, and saved when ``checkpoint`` is
    set) when the loss or the gradients stop being finite. Data that are not finite, or empty, are
    refused before training (``DataError``), as is a resume with settings other than the checkpoint's
    (``CheckpointError``; only ``DISPLAY_ONLY`` settings may change).
    """
    has_val = _check_data(model, X, y, X_val, y_val, config)
    check_caller_meta(checkpoint_meta)  # before training, not at the first save
    optimizer = make_optimizer(config.optimizer, config.lr, weight_decay=config.weight_decay)
    state = _start(model, optimizer, config, checkpoint, resume)
    history = History(**state.history)
    if state.finished:
        model.load_named_params(state.best_params)
        return history
    rng = np.random.default_rng()
    rng.bit_generator.state = state.rng_state

    def save(snapshot: TrainingState) -> None:
        if checkpoint is not None:
            save_training_state(checkpoint, model, asdict(config), snapshot, checkpoint_meta)

    saved = _snapshot(state, model, optimizer, rng, history)
    bar = progress_bar(config.epochs, "training", unit="epoch", initial=state.epoch, quiet=config.quiet)
    if resume and checkpoint is not None and not Path(checkpoint).exists():  # a mistyped path looked like a resume
        bar.write(f"no training state at {checkpoint} yet: training from the first epoch (it is saved there after each)")
    # a diverging run overflows before its loss turns inf or NaN; the loop checks every step itself
    # and stops with a message that says why, so NumPy's own overflow warnings are not wanted here.
    # BLAS on one thread when a step's products are small (the rule of nn/kernels/threads.py): the
    # LSTM kernel sets it per call, but the GRU's and the RNN's reference code has no kernel, and on
    # 2 busy cores a second BLAS thread that only waits made the forecaster's GRU 1.3x to 6x slower
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), blas_threads_for(_step_work(model, config)):
        try:
            for epoch in range(state.epoch, config.epochs):
                optimizer.lr = _epoch_lr(config, epoch)
                history.train_loss.append(_train_epoch(model, optimizer, X, y, config, rng, state, history))
                history.lr.append(optimizer.lr)
                current = history.train_loss[-1]
                if has_val:
                    current = evaluate(model, X_val, y_val, config.loss, engine=config.engine)
                    history.val_loss.append(current)
                    if not math.isfinite(current):  # no epoch would ever be best: the untrained weights came back as an early stop
                        raise TrainingDiverged(_validation_overflowed(current, epoch, history.train_loss[-1], X_val, y_val))
                _keep_if_best(state, history, model, epoch, current)
                saved = _snapshot(state, model, optimizer, rng, history)
                save(saved)
                _show_progress(bar, config, history, epoch, current, has_val)
                if on_epoch_end is not None:
                    on_epoch_end(epoch, history)
                if has_val and config.patience is not None and state.bad_epochs >= config.patience:
                    history.stop_reason = f"early stop: no validation improvement for {config.patience} epochs"
                    break
            else:
                history.stop_reason = f"finished {config.epochs} epoch{'' if config.epochs == 1 else 's'}"
        except TrainingDiverged as exc:
            model.load_named_params(state.best_params)
            save(saved)
            raise _diverged_error(exc, history, saved, checkpoint) from None
        except KeyboardInterrupt:
            history.stop_reason = f"interrupted after {saved.epoch} complete epochs"
            save(saved)
            raise
        finally:
            bar.close()
    model.load_named_params(state.best_params)
    final = _snapshot(state, model, optimizer, rng, history)
    final.finished = True
    save(final)
    return history


def _step_work(model: Model, config: TrainConfig) -> int:
    """Multiply-adds of the largest recurrent product of one step (``threads.step_work`` of each layer)."""
    sizes = (model.config.input_size, *model.config.hidden_sizes)
    return max(step_work(config.batch_size, D, H) for D, H in zip(sizes, sizes[1:]))


def _keep_if_best(state: TrainingState, history: History, model: Model, epoch: int, current: float) -> None:
    """Count the epoch towards early stopping, or keep its weights when its loss is the best so far."""
    if current < state.best_val:  # the optimizer makes new arrays, so keeping references is a snapshot
        state.best_val, state.bad_epochs, state.best_params = current, 0, model.named_params()
        history.best_epoch = epoch
    else:
        state.bad_epochs += 1
    state.epoch = epoch + 1


def _diverged_error(exc: TrainingDiverged, history: History, saved: TrainingState, checkpoint) -> TrainingDiverged:
    """The divergence, with what was kept and where the state was saved, carrying the history."""
    history.stop_reason = str(exc)
    kept = f"epoch {history.best_epoch + 1}" if history.best_epoch >= 0 else "the initial weights"
    where = ""
    if checkpoint is not None:
        where = f"; {f'the state after epoch {saved.epoch}' if saved.epoch else 'the state before training'} is saved in {checkpoint}"
    error = TrainingDiverged(f"{exc} Kept the best weights so far ({kept}){where}.")
    error.history = history
    return error


def _check_data(model: Model, X, y, X_val, y_val, config: TrainConfig) -> bool:
    """Whether there is validation data, after checking that there are samples, that the shapes agree, that every
    array has the model's dtype and that every value is finite."""
    if (X_val is None) != (y_val is None):  # validation was dropped without a word
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise ConfigError(f"{given} was given without {missing}: pass both to validate, or neither")
    has_val = X_val is not None
    arrays = {"X": X, "y": y, "X_val": X_val, "y_val": y_val}
    for name, a in arrays.items():
        if is_masked(a):  # np.asarray, the cast the next refusal names, would keep its masked numbers as data
            raise masked_array_refusal(name)
        if (a is None and name in ("X", "y")) or (a is not None and not is_array(a)):
            raise TypeError(f"{name} must be an array, got {'None' if a is None else 'a ' + type(a).__name__}; make one with "
                            f"np.asarray({name}, dtype='{dtype_name(model.dtype)}') (the model's dtype)")
        if a is not None and len(a.shape) == 0:  # failed as 'tuple index out of range'
            raise ValueError(f"{name} is a single number; it needs one row per sample ({'windows (N, T, D)' if name.startswith('X') else 'targets (N, K)'})")
    pairs = [("X", "y", X, y)] + ([("X_val", "y_val", X_val, y_val)] if has_val else [])
    for x_name, y_name, a, b in pairs:
        if a.shape[0] != b.shape[0]:
            raise DataError(f"{x_name} has {a.shape[0]} samples but {y_name} has {b.shape[0]}")
        if a.shape[0] == 0:  # training "finished" with NaN losses, and validation failed inside NumPy
            fix = ("pass at least one validation window, or neither X_val nor y_val to train without validation"
                   if x_name == "X_val" else "train needs at least one window")
            raise DataError(f"{x_name} and {y_name} hold no samples: {fix}")
    if config.tbptt is not None and model.config.head != "all":
        raise ConfigError("tbptt training needs a model with head='all' (a target at every step)")
    for x_name, y_name, a, b in pairs:
        _check_shapes(model.config, x_name, y_name, a, b)
    check_one_dtype({"the model": model.head["W"], **arrays})
    for name, a in arrays.items():
        if a is not None:
            _check_finite(name, a)
    return has_val


def _check_shapes(config, x_name: str, y_name: str, X: Array, y: Array) -> None:
    """Windows ``(N, T, D)`` and their targets, ``(N, K)`` for a head on the last step, ``(N, T, K)`` for one on
    every step (a 2-d target with tbptt was sliced as 3-d and failed as a bare IndexError)."""
    D, K = config.input_size, config.output_size
    if len(X.shape) != 3 or X.shape[2] != D:
        raise ValueError(f"{x_name} must have shape (N, T, D) with D = {D}, got {tuple(X.shape)}")
    N, T, _ = X.shape
    expected, axes = ((N, K), "(N, K)") if config.head == "last" else ((N, T, K), "(N, T, K)")
    if tuple(y.shape) != expected:
        raise ValueError(f"{y_name} must have shape {axes} = {expected} for a model with head='{config.head}' and "
                         f"{K} output{'s' if K > 1 else ''}, got {tuple(y.shape)}")


def _check_finite(name: str, a: Array) -> None:
    """Refuse NaN and inf in the data: in X it was blamed on the learning rate, and in the validation data no epoch
    ever scored better than NaN, so the untrained weights came back without a word."""
    xp = namespace(a)
    if bool(xp.all(xp.isfinite(a))):
        return
    host = to_numpy(a)
    bad = np.argwhere(~np.isfinite(host))  # (count, ndim): the index of every value that is not finite
    first = tuple(int(i) for i in bad[0])
    raise DataError(f"{name} holds {len(bad)} value{'s' if len(bad) > 1 else ''} that {'are' if len(bad) > 1 else 'is'} not "
                    f"finite, the first {host[first]} at {name}[{', '.join(map(str, first))}] (sample {first[0]}); "
                    "drop or fill those samples before training")


def _start(model: Model, optimizer: Optimizer, config: TrainConfig, checkpoint, resume: bool) -> TrainingState:
    """A fresh training state, or the one saved in ``checkpoint`` when resuming (the model then holds its weights)."""
    if not (resume and checkpoint is not None and Path(checkpoint).exists()):
        return TrainingState(params=model.named_params(), best_params=model.named_params(),
                             rng_state=host_rng(config.seed).bit_generator.state, history=History().to_dict())
    state, meta = load_training_state(checkpoint, model)
    _check_same_settings(checkpoint, meta.get("training"), config)
    model.load_named_params(state.params)
    try:
        optimizer.load_state_dict(*state.optimizer, model.named_params())
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{checkpoint} has a corrupt optimizer state ({exc}); start afresh without --resume") from None
    try:
        History(**state.history)
    except TypeError as exc:
        raise CheckpointError(f"{checkpoint} has a corrupt training history ({exc}); start afresh without --resume") from None
    return state


def _check_same_settings(checkpoint, saved, config: TrainConfig) -> None:
    """Refuse to continue a run with settings other than those it was written with (but ``DISPLAY_ONLY``): the run
    went on with a mix of both, and another optimizer was called a corrupt optimizer state."""
    if not isinstance(saved, dict):
        raise CheckpointError(f"{checkpoint} has a corrupt training configuration (a {type(saved).__name__}, not an object); "
                              "start afresh without --resume")
    differences = [f"{name} {repr(saved[name]) if name in saved else 'not recorded'} then, {value!r} now"
                   for name, value in asdict(config).items() if name not in DISPLAY_ONLY and saved.get(name) != value]
    if differences:
        raise CheckpointError(f"{checkpoint} was trained with other settings ({'; '.join(differences)}); resume with the "
                              "settings it was written with, or start afresh without --resume")


def _snapshot(state: TrainingState, model: Model, optimizer: Optimizer, rng: np.random.Generator, history: History) -> TrainingState:
    """The state to save now: the counters, the current and best weights, the optimizer and the generator."""
    return TrainingState(state.epoch, state.step, state.best_val, state.bad_epochs, model.named_params(), state.best_params,
                         optimizer.state_dict(), rng.bit_generator.state, history.to_dict())


def _train_epoch(model: Model, optimizer: Optimizer, X, y, config: TrainConfig, rng: np.random.Generator,
                 state: TrainingState, history: History) -> float:
    """One pass over the minibatches; returns the mean minibatch loss."""
    loss_fn = get_loss(config.loss)
    losses, carry = [], None
    for xb, yb in _batches(X, y, config, rng):
        masks = draw_dropout_masks(model.config.dropout, xb.shape[1], xb.shape[0], model.config.hidden_sizes, rng, xb)
        pred, states_T, cache = model_forward(model, xb, masks, carry, engine=config.engine)
        loss, dpred = loss_fn(pred, yb)
        grads, _, _ = model_backward(cache, dpred)
        grads, norm = clip_grad_norm(grads, config.clip_norm) if config.clip_norm is not None else (grads, global_norm(grads))
        state.step += 1
        if not (math.isfinite(loss) and math.isfinite(norm)):
            raise TrainingDiverged(_diverged(state.step, len(history.train_loss), loss, norm, config, X, y))
        params = model.named_params()
        optimizer.step(params, grads)
        model.load_named_params(params)
        history.grad_norm.append(norm)
        losses.append(loss)
        if config.tbptt is not None:
            carry = states_T  # stateful: the state flows into the next chunk, its gradient does not
    return float(np.mean(losses))


def _batches(X: Array, y: Array, config: TrainConfig, rng: np.random.Generator):
    """Minibatches ``(xb, yb)``: shuffled windows, or the chunks of the sequences in order (tbptt)."""
    if config.tbptt is not None:
        for t in range(0, X.shape[1], config.tbptt):
            yield X[:, t : t + config.tbptt, :], y[:, t : t + config.tbptt, :]
        return
    xp = namespace(X, y)
    N = X.shape[0]
    order = rng.permutation(N) if config.shuffle else np.arange(N)
    for k in range(0, N, config.batch_size):
        rows = from_host(np.sort(order[k : k + config.batch_size]), xp, dtype=xp.int64, device=device_of(X))
        yield xp.take(X, rows, axis=0), xp.take(y, rows, axis=0)


def _epoch_lr(config: TrainConfig, epoch: int) -> float:
    if config.schedule == "cosine":
        return cosine_lr(epoch, config.lr, config.epochs)
    if config.schedule == "step":
        return step_lr(epoch, config.lr, config.step_every)
    return constant_lr(epoch, config.lr)


def _show_progress(bar, config: TrainConfig, history: History, epoch: int, current: float, has_val: bool) -> None:
    bar.update(1)
    bar.set_postfix(loss=f"{history.train_loss[-1]:.4g}", **({"val": f"{current:.4g}"} if has_val else {}))
    if config.log_every and (epoch + 1) % config.log_every == 0 and not config.quiet:
        val = f", validation {current:.6g}" if has_val else ""
        bar.write(f"epoch {epoch + 1}/{config.epochs}: training loss {history.train_loss[-1]:.6g}{val}")


def _largest(a: Array) -> float:
    xp = namespace(a)
    return float(xp.max(xp.abs(a)))


def _validation_overflowed(loss: float, epoch: int, train_loss: float, X_val: Array, y_val: Array) -> str:
    return (f"the validation loss is {loss} at epoch {epoch + 1}, the training loss {train_loss:.4g}: the validation data "
            f"overflow the loss in {X_val.dtype} (largest |x| = {_largest(X_val):.3g}, |y| = {_largest(y_val):.3g}); scale "
            "the data to about unit size.")


def _diverged(step: int, epoch: int, loss: float, norm: float, config: TrainConfig, X: Array, y: Array) -> str:
    largest, largest_y = _largest(X), _largest(y)
    if step == 1:  # no update has happened: the data and the initial weights alone overflow
        causes = [f"data too large for the loss in {X.dtype} at the initial weights (the first step, before any update)"]
    else:
        causes = [f"a learning rate too high for this problem (lr = {config.lr:g}; try {config.lr / 10:g})"]
    if largest_y > 10:
        causes.insert(0, f"unscaled targets (largest |y| = {largest_y:.3g}; scale them to about unit size)")
    if largest > 10:
        causes.insert(0, f"unscaled inputs (largest |x| = {largest:.3g}; scale the data to about unit size)")
    if config.clip_norm is None and step > 1:
        causes.append("no gradient clipping (set clip_norm)")
    return (f"training diverged at step {step} (epoch {epoch + 1}): loss = {loss}, gradient norm = {norm}. "
            f"Likely cause: {'; or '.join(causes)}.")
