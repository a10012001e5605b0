"""The keys of a configuration model, for the tests that hold docs and code against it."""

from __future__ import annotations

from pydantic import BaseModel


def leaf_fields(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Dotted key (``mqtt.host``) -> attribute name (``host``), for every leaf setting."""
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            found |= leaf_fields(nested[0], f"{prefix}{name}.")
        else:
            found[f"{prefix}{name}"] = name
    return found
