"""core.io: weights in and out (safetensors): tensors and state dicts, and the numpy-level file format."""
from core.io.file_pages import release_file_pages
from core.io.safetensors import Header, SafetensorsError, SafetensorsFile, TensorInfo, read_header, save_arrays
from core.io.serialization import load, load_file, load_metadata, save, save_file

__all__ = ["Header", "SafetensorsError", "SafetensorsFile", "TensorInfo", "load", "load_file", "load_metadata",
           "read_header", "release_file_pages", "save", "save_arrays", "save_file"]
