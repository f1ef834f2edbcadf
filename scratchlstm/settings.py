"""Settings declared once: typed dataclass fields carrying their help text and their valid values.

Every configuration of the package (``ModelConfig``, ``TrainConfig``, ``ForecastConfig``) is a frozen
dataclass whose fields are made with ``setting``:

    epochs: int = setting(100, "maximum epochs; early stopping usually ends sooner", at_least=1)

The field's type annotation and its metadata are the single source of truth:

- ``check_fields`` (called by each config's ``__post_init__``) checks every value's type and range and
  raises one ``ConfigError`` that names the field, the rule and the value. The Python API, JSON
  ``--config`` files and command-line flags all end up here.
- ``from_mapping`` builds a config from a JSON document without coercing anything silently (the
  string ``"32"`` is not a list of layer sizes).
- ``parse_text`` turns a command-line string into the field's type; the command line generates one
  flag per field from the same metadata (``flag``, ``help``, ``choices``).
- ``inherit`` copies a field of another config (default, help and rules) into a config that offers the
  same knob, so a default is declared once even where two configurations share a setting.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import types
import typing
from typing import Any, Callable, Iterable, Mapping

from .errors import ConfigError

MISSING = dataclasses.MISSING


def setting(default: Any, help: str, *, choices: Iterable[str] | Callable[[], Iterable[str]] | None = None,
            at_least: float | None = None, above: float | None = None, at_most: float | None = None,
            below: float | None = None, check: Callable[[Any], str | None] | None = None,
            flag: str | None = None, group: str = "", none_word: str | None = None) -> Any:
    """A dataclass field with a default, help text and the rules its value must meet.

    Parameters
    ----------
    default : object
        The default value (a tuple for a tuple field).
    help : str
        One line for ``--help`` and the API reference.
    choices : iterable of str or callable, optional
        The allowed values of a string field; a callable is called when needed (registries).
    at_least, above, at_most, below : float, optional
        Inclusive and exclusive bounds of a number (each entry of a tuple of numbers).
    check : callable, optional
        ``check(value)`` returns an error phrase (``"must be ..."``) or None, for rules the bounds
        cannot say.
    flag : str, optional
        The command-line flag when it differs from ``--field-name``.
    group : str
        The section of ``--help`` the flag is listed in.
    none_word : str, optional
        For an optional field, the word that means None on the command line (``"none"``).
    """
    metadata = {"help": help, "choices": choices, "at_least": at_least, "above": above, "at_most": at_most,
                "below": below, "check": check, "flag": flag, "group": group, "none_word": none_word}
    return dataclasses.field(default=default, metadata=metadata)


def inherit(config_class: type, name: str, **changes: Any) -> Any:
    """The field ``name`` of ``config_class`` (default, help and rules), with ``changes`` applied.

    A changed ``default`` must come with ``why=`` (one line): a deliberate difference between two
    configurations is declared where it is made, with its reason, and shown in ``--help``.
    """
    source = {f.name: f for f in dataclasses.fields(config_class)}[name]
    metadata = dict(source.metadata)
    default = source.default
    if "default" in changes:
        why = changes.pop("why", None)
        if not why:
            raise TypeError(f"a changed default of {name!r} needs why=")
        default = changes.pop("default")
        metadata["help"] = f"{metadata['help']} ({why})"
    unknown = set(changes) - set(metadata)
    if unknown:
        raise TypeError(f"unknown setting options {sorted(unknown)}")
    metadata.update(changes)
    return dataclasses.field(default=default, metadata=metadata)


def choices_of(field: dataclasses.Field) -> tuple[str, ...] | None:
    """The allowed values of a string field, or None."""
    choices = field.metadata.get("choices")
    if choices is None:
        return None
    return tuple(choices() if callable(choices) else choices)


def _hints(config_class: type) -> dict[str, Any]:
    return typing.get_type_hints(config_class)


def _parts(hint) -> tuple[list, bool]:
    """The non-None members of a union type, and whether None is allowed."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = list(typing.get_args(hint))
        return [a for a in args if a is not type(None)], type(None) in args
    return [hint], False


def _describe(hint, field: dataclasses.Field, label: str) -> str:
    """The kind of value ``field`` takes, in words; a list's example is made of the field's default (entries its
    rules allow), written as the command line takes it when ``label`` is a flag."""
    kinds, optional = _parts(hint)
    words = []
    for k in kinds:
        if typing.get_origin(k) is tuple:
            default = tuple(field.default) if isinstance(field.default, tuple) and field.default else (1,)
            example = default if len(default) > 1 else default * 2  # two entries show the separator
            words.append(f"whole numbers separated by commas, such as {','.join(map(str, example))}" if label.startswith("--")
                         else f"a list of integers such as {list(example)}")
        else:
            words.append({int: "an integer", float: "a number", str: "a string", bool: "true or false"}[k])
    return " or ".join(words) + (" or null" if optional else "")


def _bounds(field: dataclasses.Field) -> str:
    m = field.metadata
    parts = []
    if m.get("at_least") is not None:
        parts.append(f"at least {m['at_least']:g}")
    if m.get("above") is not None:
        parts.append(f"above {m['above']:g}")
    if m.get("at_most") is not None:
        parts.append(f"at most {m['at_most']:g}")
    if m.get("below") is not None:
        parts.append(f"below {m['below']:g}")
    return " and ".join(parts)


def is_number(value: Any) -> bool:
    """A real number, Python's or NumPy's (``np.float32(0.1)``), but not a bool (nor NumPy's, which is no Real)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    """A whole number, Python's or NumPy's (``np.int64(4)``, what arithmetic on arrays gives), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # (NumPy's bool is no Integral)


def _typed(value: Any, kind) -> Any:
    """``value`` as ``kind`` when it already is one (ints pass as numbers; NumPy's numbers become Python's, which JSON
    writes), else a sentinel."""
    if typing.get_origin(kind) is tuple:
        if isinstance(value, (list, tuple)) and value and all(_integer(v) for v in value):
            return tuple(int(v) for v in value)
        return MISSING
    if kind is bool:
        return value if isinstance(value, bool) else MISSING
    if kind is int:
        return int(value) if _integer(value) else MISSING
    if kind is float:
        return float(value) if is_number(value) else MISSING
    if kind is str:
        return value if isinstance(value, str) else MISSING
    raise TypeError(f"settings of type {kind} are not supported")


def check_value(field: dataclasses.Field, hint, value: Any, label: str | None = None) -> Any:
    """``value`` checked against ``field``'s type and rules (and normalised: lists become tuples).

    Raises ``ConfigError`` naming ``label`` (the field's name by default), the rule and the value.
    """
    label = label or field.name
    kinds, optional = _parts(hint)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{label} must be {_describe(hint, field, label)}, got None")
    typed = MISSING
    for kind in kinds:
        typed = _typed(value, kind)
        if typed is not MISSING:
            break
    if typed is MISSING:
        shown = f"the string {value!r}" if isinstance(value, str) else repr(value)
        raise ConfigError(f"{label} must be {_describe(hint, field, label)}, got {shown}")
    m = field.metadata
    choices = choices_of(field)
    if choices is not None and typed not in choices:
        raise ConfigError(f"unknown {label} {typed!r}; choose one of {', '.join(choices)}")
    numbers = typed if isinstance(typed, tuple) else (typed,) if isinstance(typed, (int, float)) and not isinstance(typed, bool) else ()
    for v in numbers:
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{label} must be a finite number, got {value!r}")
        broken = ((m.get("at_least") is not None and not v >= m["at_least"]) or (m.get("above") is not None and not v > m["above"])
                  or (m.get("at_most") is not None and not v <= m["at_most"]) or (m.get("below") is not None and not v < m["below"]))
        if broken:
            each = "every entry " if isinstance(typed, tuple) else ""
            raise ConfigError(f"{label} must have {each}{_bounds(field)}, got {value!r}" if each
                              else f"{label} must be {_bounds(field)}, got {value!r}")
    if m.get("check") is not None:
        problem = m["check"](typed)
        if problem:
            raise ConfigError(f"{label} {problem}, got {value!r}")
    return typed


def check_fields(config) -> None:
    """Check and normalise every field of the frozen dataclass ``config`` in place."""
    hints = _hints(type(config))
    for f in dataclasses.fields(config):
        value = check_value(f, hints[f.name], getattr(config, f.name))
        object.__setattr__(config, f.name, value)


def _did_you_mean(unknown: list[str], known) -> str:
    """" (did you mean 'window'?)" for the known names closest to the unknown ones (``difflib``), or ""."""
    pairs = [(key, difflib.get_close_matches(str(key).replace("-", "_"), list(known), n=1)) for key in unknown]
    pairs = [(key, match[0]) for key, match in pairs if match]
    if not pairs:
        return ""
    if len(unknown) == 1:
        return f" (did you mean {pairs[0][1]!r}?)"
    return " (did you mean " + ", ".join(f"{match!r} for {key!r}" for key, match in pairs) + "?)"


def from_mapping(config_class: type, mapping: Mapping[str, Any], *, base=None, source: str = "settings"):
    """A ``config_class`` from ``mapping`` (for example a JSON document) on top of ``base``.

    Unknown keys and values of the wrong type are refused with a ``ConfigError`` that names
    ``source`` and the key; nothing is coerced silently.
    """
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source} must be a JSON object of setting names and values, got {type(mapping).__name__}")
    known = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise ConfigError(f"{source} has unknown keys {unknown}{_did_you_mean(unknown, known)}; known keys: {', '.join(sorted(known))}")
    hints = _hints(config_class)
    values = {k: check_value(known[k], hints[k], v, f"{source}: {k}") for k, v in mapping.items()}
    base = base if base is not None else config_class()
    return dataclasses.replace(base, **values)


def parse_text(config_class: type, name: str, text: str, label: str | None = None) -> Any:
    """The command-line string ``text`` as a value of field ``name`` (checked like any other)."""
    field = {f.name: f for f in dataclasses.fields(config_class)}[name]
    hint = _hints(config_class)[name]
    label = label or name
    kinds, optional = _parts(hint)
    none_word = field.metadata.get("none_word")
    if optional and none_word and text.strip().lower() in (none_word, "none", "off"):
        return None
    value: Any = MISSING
    for kind in kinds:
        try:
            if typing.get_origin(kind) is tuple:
                value = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
            elif kind is int:
                value = int(text)
            elif kind is float:
                value = float(text)
            elif kind is bool:
                lowered = text.strip().lower()
                if lowered not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                    raise ValueError(text)
                value = lowered in ("true", "yes", "1", "on")
            else:
                value = text
            break
        except ValueError:
            continue
    if value is MISSING or value == ():
        extra = f" or {none_word!r}" if optional and none_word else ""
        raise ConfigError(f"{label} must be {_describe(hint, field, label).replace(' or null', '')}{extra}, got {text!r}")
    return check_value(field, hint, value, label)


def flag_of(field: dataclasses.Field) -> str:
    """The command-line flag of a field: its ``flag`` metadata or ``--name-with-dashes``."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def pick(config_class: type, source, **overrides: Any):
    """A ``config_class`` whose fields are taken from ``source`` by name, then ``overrides``.

    This is how one configuration is derived from another: the forecaster's flat settings give the
    model's and the trainer's configurations, field by field.
    """
    names = {f.name for f in dataclasses.fields(config_class)}
    values = {n: getattr(source, n) for n in names if hasattr(source, n)}
    values.update(overrides)
    return config_class(**values)
