"""core.linalg: PyTorch's torch.linalg names for the linear algebra core has.

>>> core.linalg.vector_norm(core.tensor([3.0, 4.0])).item()
5.0
"""
from core._tensor import vector_norm

__all__ = ["vector_norm"]
