"""core.io: weights in and out (safetensors)."""
from core.io.safetensors import Header, SafetensorsError, SafetensorsFile, TensorInfo, read_header, save_arrays

__all__ = ["Header", "SafetensorsError", "SafetensorsFile", "TensorInfo", "read_header", "save_arrays"]
