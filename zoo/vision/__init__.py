"""Vision models. Importing this package registers `vision/digits-cnn` and its "digits-cnn" builder."""
from zoo.vision import catalog
from zoo.vision.model import DigitsCNN, DigitsConfig

__all__ = ["DigitsCNN", "DigitsConfig", "catalog"]
