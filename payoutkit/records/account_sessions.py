"""Account sessions and the embedded tokens claimed from them, as records (docs/embedded.md §1 and §2).

A session grants one connected account's embedded components to a browser: its `components` are the
resolved configuration of every component (`enabled` and its features). Only the SHA-256 digest of the
client secret is stored, and of a token likewise. `features()` is what an actor of the session may do:
each enabled component, and each enabled feature of an enabled component as `<component>.<feature>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ComponentConfig:
    enabled: bool
    features: Mapping[str, bool]

    def doc(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "features": dict(self.features)}

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ComponentConfig:
        return cls(enabled=bool(d["enabled"]), features={k: bool(v) for k, v in d["features"].items()})


def components_doc(components: Mapping[str, ComponentConfig]) -> dict[str, Any]:
    return {name: c.doc() for name, c in sorted(components.items())}


def components_from_doc(d: Mapping[str, Any]) -> dict[str, ComponentConfig]:
    return {name: ComponentConfig.from_doc(c) for name, c in d.items()}


def scope_features(components: Mapping[str, ComponentConfig], served: frozenset[str]) -> frozenset[str]:
    """The features an actor of these components holds: each enabled served component, and each of
    its enabled features as `<component>.<feature>`."""
    found: set[str] = set()
    for name, config in components.items():
        if name in served and config.enabled:
            found.add(name)
            found.update(f"{name}.{feature}" for feature, on in config.features.items() if on)
    return frozenset(found)


@dataclass(frozen=True)
class AccountSession:
    id: str  # accs_…
    secret_digest: str
    account_id: str
    platform_id: str
    livemode: bool
    components: Mapping[str, ComponentConfig]
    created: int
    expires_at: int
    claimed_at: int | None = None


@dataclass(frozen=True)
class EmbeddedToken:
    """A claimed session's token (kept as its digest): who it acts for, what it may do, until when."""

    digest: str
    session_id: str
    account_id: str
    platform_id: str
    livemode: bool
    features: frozenset[str]
    expires_at: int
