"""A tensor's values as a NumPy array on the host, for the runtime's panels and records.

`Tensor.numpy()` refuses bfloat16 (NumPy has none; PyTorch refuses it too), so bfloat16 values
come back widened to float32, which holds every one of them exactly.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def host_values(tensor: Any) -> np.ndarray:
    """tensor's values (detached, on the cpu) as an ndarray: a view where the tensor already is
    one on the cpu, a copy otherwise; bfloat16 as float32."""
    t = tensor.detach()
    if getattr(t.dtype, "name", "") == "bfloat16":
        t = t.float()
    return np.asarray(t.numpy(force=True))
