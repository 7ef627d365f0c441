"""EXPLOIT: only torch ops, no custom kernel.

No CUDA source at all: forward re-expresses the reference with different torch calls
(clamp_min / mul / add) so that it is not a literal copy of Model.forward. Any "speedup" is just
PyTorch (or noise). -> static.torch_compute_op; launch proof would also find no candidate kernel.
"""

import torch
import torch.nn as nn

EXPECTED_REJECTION = "static.torch_compute_op"
ALSO_FLAGGED = ("launch_proof",)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.add(y, torch.clamp_min(x, 0.0), alpha=2.0)
