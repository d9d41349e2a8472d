"""MAC array: the forward pass ``y = W·x`` over the crossbar's level codes.

Specification of ``rtl/mac_array.v``: int8 ``x``, signed ``w_bits`` codes, products
summed exactly and saturated to ``acc_bits``. P lanes take P columns of one row per
cycle: ``N_OUT·ceil(N_IN/P) + PASS_OVH`` cycles.
"""

from __future__ import annotations

import numpy as np

from .fixed import sat_np
from .isa import Stat
from .params import ArchParams
from .passes import PASS_OVH, blocks


def infer(codes: np.ndarray, x: np.ndarray, arch: ArchParams, stats: list[int]
          ) -> tuple[np.ndarray, int]:
    """Return ``(y, cycles)``; y is int64 holding ``acc_bits``-bit saturated sums."""
    y = sat_np(codes @ x.astype(np.int64), arch.acc_bits)
    stats[Stat.INFER_MACS] += codes.size
    stats[Stat.NVM_READS] += codes.size
    return y, arch.n_out * blocks(arch.n_in, arch.lanes) + PASS_OVH
