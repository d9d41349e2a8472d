"""Weight-update rules for a layer whose weights live in an NVM crossbar: the common part
(:mod:`.base`: counters, max-norm, :class:`UpdateRule`), the baselines
(:mod:`.baselines`: per-sample SGD, mini-batch SGD, mixed precision) and LRT
(:mod:`.lrt_rule`). :mod:`.base`'s docstring gives what every rule counts and how it
scales and rounds its steps."""

from __future__ import annotations

from ..nvm import Crossbar
from .base import MaxNorm, RuleStats, UpdateRule, energy_pj, per_job
from .baselines import SGD, MiniBatchSGD, MixedPrecision
from .lrt_rule import LRT

__all__ = ["LRT", "RULES", "SGD", "MaxNorm", "MiniBatchSGD", "MixedPrecision", "RuleStats",
           "UpdateRule", "energy_pj", "make_rule", "per_job"]

RULES = {cls.name: cls for cls in (SGD, MiniBatchSGD, MixedPrecision, LRT)}


def make_rule(name: str, crossbar: Crossbar, **params) -> UpdateRule:
    """Build a rule by name (``sgd``, ``minibatch``, ``mixed``, ``lrt``)."""
    if name not in RULES:
        raise ValueError(f"unknown update rule {name!r}; use one of {sorted(RULES)}")
    return RULES[name](crossbar, **params)
