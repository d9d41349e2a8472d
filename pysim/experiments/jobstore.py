"""Names and digests of stored experiment state: job ids (a hash of everything a job's
result depends on), the ids of stacked groups, the checkpoint format tag and the result version."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

from ..config import NAME_FIX, NAME_PATTERN
from ..hw.params import AccelConfig
from .schema import ExperimentCfg, Method

# v3: a pysim.store state file, not a pickle; v4: the rules' classes live in pysim.rules.*
# modules (a v3 file names them pysim.rules.X) and no pickle-era fields are filled in;
# v5: one mode, every array with a job axis (software lanes renamed jobs); v6: crossbars
# keep where each job's cells start.
CKPT_MAGIC = "pysim-job-checkpoint-v6"
# Part of every job id: bump it when a job's result changes for the same configuration
# (2: mean online accuracy in results, CGS2 Gram-Schmidt; 3: LRT projects a sample's
# terms together and its rank reduction rounds differently; 4: samples, drift and a
# method's own draws come from separate random streams; 5: results carry the saturated
# fraction of cells; 6: unbiased LRT's core SVD with canonical signs and tied groups),
# so old results are not reused.
RESULT_VERSION = 6
# Part of the ids of jobs on the accelerator model (hw: true) only: bump it when their
# results change and the float methods' do not (2: every register write a layer's rule
# makes counts in that layer's share of the stats, hw_stats; 3: the core SVD runs on the
# scalar unit's two multipliers, so an absorbed UPDATE takes more cycles).
HW_RESULT_VERSION = 3


def digest(parts) -> str:
    """Stable hash of JSON-able configuration parts (file names of cached results)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def job_id(cfg: ExperimentCfg, method: Method, seed: int, lr: float, samples: int) -> str:
    """Names a job's files; the hash covers everything its result depends on, so a changed
    config never picks up a stale result or checkpoint."""
    if not re.fullmatch(NAME_PATTERN, method.name):  # it becomes a file name
        raise ValueError(f"method name {method.name!r} is not a safe file name: {NAME_FIX}")
    accel = dataclasses.asdict(AccelConfig.load(cfg.accel)) if method.cfg.hw else cfg.accel
    parts = [RESULT_VERSION, cfg.network, cfg.device, cfg.bits, accel, cfg.data.key(),
             dataclasses.asdict(cfg.stream), dataclasses.asdict(cfg.pretrain),
             dataclasses.asdict(cfg.quant), dataclasses.asdict(cfg.scenario),
             dataclasses.asdict(method.cfg), method.max_norm]
    if method.cfg.hw:
        parts.append(HW_RESULT_VERSION)
    return f"{method.name}__s{seed}__lr{lr:g}__n{samples}__{digest(parts)[:10]}"


def stack_id(ids: list[str]) -> str:
    """Names the checkpoint of a :class:`Job` from its jobs' ids (a single job's is
    its own id)."""
    if len(ids) == 1:
        return ids[0]
    return f"{ids[0].split('__')[0]}__stack{len(ids)}__{digest(ids)[:12]}"
