"""Typed, strict config models: unknown keys and wrong types are errors that name the key."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every config section: forbids unknown keys, validates on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
