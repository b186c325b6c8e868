"""YAML experiment files -> validated `ExperimentConfig`, with `key.sub=value` overrides.

Errors name the file and the dotted key, e.g.
`configs/x.yaml: train.optimizer.lr: Input should be a valid number`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from samdistill.config.experiment import ExperimentConfig
from samdistill.core.atomic import atomic_write_text
from samdistill.core.errors import ConfigError  # re-exported: `from samdistill.config.loader import ConfigError`


def _parse_value(text: str) -> Any:
    # YAML scalars: "1e-4" -> float, "true" -> bool, "[1,2]" -> list, "null" -> None.
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    # YAML 1.1 reads "1e-4" as a string; numbers are what users mean.
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def apply_overrides(data: dict, overrides: Iterable[str], source: str = "<command line>") -> dict:
    """Apply `a.b.c=value` strings to a nested dict (creating sections as needed)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{source}: override {item!r} must look like key.sub=value")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"{source}: override {item!r} has an empty key")
        node = data
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"{source}: cannot set {key!r}: {'.'.join(parts[:i + 1])} is not a section")
            node = nxt
        node[parts[-1]] = _parse_value(raw)
    return data


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the documented keys in configs/README.md)"
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)


def config_from_dict(data: dict, source: str = "<dict>") -> ExperimentConfig:
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections, got {type(data).__name__}")
    base = data.pop("_base_", None)
    if base is not None:
        # `_base_: other.yaml` (relative to this file) is merged under this file's keys.
        parent = read_yaml(path.parent / base)
        data = deep_merge(parent, data)
    return data


def deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Load a YAML experiment (or the defaults when `path` is None) and apply overrides."""
    data = read_yaml(path) if path is not None else {}
    overrides = list(overrides)
    data = apply_overrides(data, overrides)
    source = str(path) if path is not None else "<defaults>"
    if overrides:
        source += " (+ overrides)"
    return config_from_dict(data, source)


def save_config(cfg: ExperimentConfig, path: str | Path) -> Path:
    """Write the resolved config next to a run's outputs (round-trips through load_config)."""
    return atomic_write_text(path, yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
