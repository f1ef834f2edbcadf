"""Optimizers with PyTorch's meaning of every hyperparameter, and learning-rate schedules.

    opt = Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    opt.step(params, grads)          # replaces the entries of the ``params`` dict

``p`` a parameter, ``g`` its gradient, ``t`` its own step count starting at 1 (as in ``torch.optim``):

SGD       g <- g + wd p;  buf <- g (t = 1) else mu buf + (1 - dampening) g
          g <- g + mu buf (Nesterov) or buf;  p <- p - lr g
RMSprop   g <- g + wd p;  v <- alpha v + (1 - alpha) g^2;  centered: m <- alpha m + (1 - alpha) g,
          den = sqrt(v - m^2) + eps, else den = sqrt(v) + eps
          momentum: buf <- mu buf + g / den, p <- p - lr buf;  else p <- p - lr g / den
Adam      g <- g + wd p;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
          p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
AdamW     p <- p (1 - lr wd), then Adam with wd = 0 (decoupled weight decay)

Hyperparameters are Python floats, so float32 parameters stay float32. ``state_dict`` /
``load_state_dict`` carry the moments and the step count through checkpoints.
"""

from __future__ import annotations

import math
from typing import Any

from .backend import Array, namespace, to_numpy, like
from .errors import ConfigError
from .settings import is_number


def _real(name: str, value, *, positive: bool = False, below: float | None = None) -> float:
    """``value`` as a float, refused unless a finite real number, at least 0 (above it with ``positive``) and below
    ``below``: torch refuses the same negative values, and ``True`` read as 1 and an infinite rate ran."""
    if not is_number(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or positive and number == 0 or below is not None and number >= below:
        bound = f"in [0, {below:g})" if below is not None else "positive" if positive else "at least 0"
        raise ConfigError(f"{name} must be {bound} and finite, got {value!r}")
    return number


class Optimizer:
    """Base class: per-parameter state dicts keyed by parameter name, and step counts (one per parameter, as torch
    counts them: a parameter that missed steps, frozen for a while, is bias-corrected for its own; ``t`` counts the
    calls of ``step``)."""

    name = "optimizer"

    def __init__(self, lr: float):
        self.lr = _real("the learning rate", lr, positive=True)
        self.t = 0
        self.steps: dict[str, int] = {}
        self.state: dict[str, dict[str, Array]] = {}

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """Apply one update to every parameter that has a gradient; a gradient (or a state) of another shape or
        dtype than its parameter is refused, before any parameter changes (NumPy would broadcast it, or make float32
        parameters float64, without a word)."""
        for name, g in grads.items():
            self._check(name, params, g)
        self.t += 1
        for name, g in grads.items():
            self.steps[name] = self.steps.get(name, 0) + 1
            params[name] = self._update(name, params[name], g, self.state.setdefault(name, {}))

    def _check(self, name: str, params: dict[str, Array], g: Array) -> None:
        if name not in params:
            raise ConfigError(f"a gradient for {name!r}, which is not among the parameters ({', '.join(params)})")
        p = params[name]
        if tuple(g.shape) != tuple(p.shape) or g.dtype != p.dtype:
            raise ConfigError(f"the gradient of {name} is {tuple(g.shape)} {g.dtype}, its parameter {tuple(p.shape)} {p.dtype}: "
                              "they must match")
        for slot, a in self.state.get(name, {}).items():
            if tuple(a.shape) != tuple(p.shape):
                raise ConfigError(f"this optimizer's {slot} for {name} is {tuple(a.shape)}, the parameter {tuple(p.shape)}: it "
                                  "stepped another model's parameters; make one optimizer per model")

    def _update(self, name: str, p: Array, g: Array, s: dict[str, Array]) -> Array:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(meta, arrays)``: JSON-able settings and step counts, and host copies of the state."""
        arrays = {f"{name}/{slot}": to_numpy(a) for name, s in self.state.items() for slot, a in s.items()}
        return {"name": self.name, "t": self.t, "steps": dict(self.steps), "hyperparameters": self.hyperparameters()}, arrays

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, Any], params: dict[str, Array]) -> None:
        """Restore what ``state_dict`` returned, placing arrays like ``params``; a state for a parameter ``params``
        does not have, or of another shape, is refused."""
        if meta.get("name") != self.name:
            raise ConfigError(f"optimizer state is for {meta.get('name')!r}, not {self.name!r}")
        state: dict[str, dict[str, Array]] = {}
        for key, a in arrays.items():
            name, slot = key.rsplit("/", 1)
            if name not in params or tuple(a.shape) != tuple(params[name].shape):
                got = f"is {tuple(a.shape)}, the parameter {tuple(params[name].shape)}" if name in params else "has no parameter"
                raise ConfigError(f"the optimizer state's {slot} for {name} {got}: it is another model's")
            state.setdefault(name, {})[slot] = like(a, params[name])
        self.t = int(meta["t"])
        # saved before per-parameter counts (every parameter stepped at every call, as train does): t for each
        self.steps = {name: int(n) for name, n in meta["steps"].items()} if "steps" in meta else {name: self.t for name in state}
        self.state = state


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and weight decay (default ``lr`` 1e-3, as torch's)."""

    name = "sgd"

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(lr)
        momentum, dampening, weight_decay = (_real(n, v) for n, v in (("momentum", momentum), ("dampening", dampening),
                                                                      ("weight_decay", weight_decay)))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ConfigError("Nesterov momentum requires momentum > 0 and dampening = 0")
        self.momentum, self.dampening, self.weight_decay, self.nesterov = momentum, dampening, weight_decay, nesterov

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening, "weight_decay": self.weight_decay, "nesterov": self.nesterov}

    def _update(self, name, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            # a copy on the first step, as torch clones it: the caller may reuse its gradient array
            s["buf"] = namespace(g).asarray(g, copy=True) if "buf" not in s else self.momentum * s["buf"] + (1.0 - self.dampening) * g
            g = g + self.momentum * s["buf"] if self.nesterov else s["buf"]
        return p - self.lr * g


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centered and with momentum, as ``torch.optim.RMSprop``."""

    name = "rmsprop"

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(lr)
        self.alpha = _real("alpha", alpha, below=1.0)  # above 1, the average of squares goes negative: NaN parameters
        self.eps, self.weight_decay, self.momentum = (_real(n, v) for n, v in (("eps", eps), ("weight_decay", weight_decay),
                                                                               ("momentum", momentum)))
        self.centered = centered

    def hyperparameters(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "weight_decay": self.weight_decay, "momentum": self.momentum, "centered": self.centered}

    def _update(self, name, p, g, s):
        xp = namespace(p)
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = s["square_avg"] if "square_avg" in s else xp.zeros_like(p)
        s["square_avg"] = v = self.alpha * v + (1.0 - self.alpha) * g * g
        if self.centered:
            m = s["grad_avg"] if "grad_avg" in s else xp.zeros_like(p)
            s["grad_avg"] = m = self.alpha * m + (1.0 - self.alpha) * g
            den = xp.sqrt(v - m * m) + self.eps
        else:
            den = xp.sqrt(v) + self.eps
        if self.momentum:
            buf = s["buf"] if "buf" in s else xp.zeros_like(p)
            s["buf"] = buf = self.momentum * buf + g / den
            return p - self.lr * buf
        return p - self.lr * (g / den)


class Adam(Optimizer):
    """Adam (Kingma and Ba) with L2 weight decay added to the gradient, as ``torch.optim.Adam``."""

    name = "adam"
    decoupled = False

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ConfigError(f"betas must be in [0, 1), got {betas}")
        self.b1, self.b2 = float(b1), float(b2)
        self.eps, self.weight_decay = _real("eps", eps), _real("weight_decay", weight_decay)

    def hyperparameters(self):
        return {"lr": self.lr, "betas": [self.b1, self.b2], "eps": self.eps, "weight_decay": self.weight_decay}

    def _update(self, name, p, g, s):
        xp = namespace(p)
        if self.weight_decay:
            if self.decoupled:
                p = p * (1.0 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * p
        m = s["exp_avg"] if "exp_avg" in s else xp.zeros_like(p)
        v = s["exp_avg_sq"] if "exp_avg_sq" in s else xp.zeros_like(p)
        s["exp_avg"] = m = self.b1 * m + (1.0 - self.b1) * g
        s["exp_avg_sq"] = v = self.b2 * v + (1.0 - self.b2) * g * g
        t = self.steps[name]  # this parameter's own steps
        step_size = self.lr / (1.0 - self.b1**t)
        den = xp.sqrt(v) / math.sqrt(1.0 - self.b2**t) + self.eps
        return p - step_size * (m / den)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as ``torch.optim.AdamW``."""

    name = "adamw"
    decoupled = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(lr, betas, eps, weight_decay)


OPTIMIZERS = {cls.name: cls for cls in (SGD, RMSprop, Adam, AdamW)}


def make_optimizer(name: str, lr: float, **kwargs) -> Optimizer:
    """Optimizer by name (sgd, rmsprop, adam, adamw) with PyTorch's hyperparameter names."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](lr=lr, **kwargs)


# ----------------------------------------------------------------------------------------------
# learning-rate schedules: plain functions of the step (0-based)


def constant_lr(step: int, base_lr: float) -> float:
    """The base rate at every step."""
    return base_lr


def step_lr(step: int, base_lr: float, step_size: int, gamma: float = 0.1) -> float:
    """``base_lr * gamma ** (step // step_size)``, like ``torch.optim.lr_scheduler.StepLR``."""
    return base_lr * gamma ** (step // step_size)


def cosine_lr(step: int, base_lr: float, total_steps: int, min_lr: float = 0.0) -> float:
    """Cosine decay from ``base_lr`` at step 0 to ``min_lr`` at ``total_steps`` (then held)."""
    progress = min(step, total_steps) / max(total_steps, 1)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))
