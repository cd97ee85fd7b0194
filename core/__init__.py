"""zoohub core: a tensor engine with reverse-mode autograd and PyTorch's names."""
from core import _C  # noqa: F401
