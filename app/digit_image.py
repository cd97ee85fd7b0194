"""An uploaded picture of a digit as an image of scikit-learn's digits: 8x8, ink light on dark, values 0..16.

The digits were made by counting the inked pixels of a 32x32 bitmap in each 4x4 block; averaging the ink over
8x8 blocks (Pillow's box filter) and scaling to 0..16 does the same to a picture of any size.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

SIDE = 8
INPUT_MAX = 16  # zoo/vision's DigitsConfig.input_max: the digits' pixel values run 0..16
MAX_BYTES = 10 * 2**20
MAX_PIXELS = 4096 * 4096  # a decoded 16 Mpx greyscale picture is 16 MB; a decompression bomb is far larger
MIN_CONTRAST = 0.1  # of the 0..1 grey range: below it the picture holds no stroke to read


class NotADigitImage(ValueError):
    """The upload cannot be read as a digit picture; the message is one line for the page."""


def digit_from_image(data: bytes, name: str = "the upload") -> np.ndarray:
    """The picture in `data` (PNG, JPEG, ...) as an (8, 8) float32 digit, values 0..16, ink high.

    >>> digit_from_image(Path("three.png").read_bytes()).shape
    (8, 8)
    """
    if len(data) > MAX_BYTES:
        raise NotADigitImage(f"{name} is {len(data) / 2**20:.1f} MB: pictures of up to {MAX_BYTES // 2**20} MB "
                             "are read")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size  # read from the header, before anything is decoded
            if width * height > MAX_PIXELS:
                raise NotADigitImage(f"{name} is {width}x{height} pixels: pictures of up to "
                                     f"{MAX_PIXELS // 10**6} megapixels are read")
            grey = np.asarray(image.convert("L"), dtype=np.float32) / 255
    except UnidentifiedImageError:
        raise NotADigitImage(f"{name} is not a picture Pillow can read: upload a PNG or JPEG") from None
    except (OSError, Image.DecompressionBombError) as exc:  # truncated or damaged data, a bomb past our check
        raise NotADigitImage(f"{name} could not be decoded ({exc}): upload a PNG or JPEG") from None
    low, high = float(grey.min()), float(grey.max())
    if high - low < MIN_CONTRAST:
        raise NotADigitImage(f"{name} is blank: its grey levels span {high - low:.2f} of the range, no stroke "
                             "to read; draw the digit darker or lighter than its background")
    ink = (grey - low) / (high - low)
    if np.median(_border(ink)) > 0.5:  # a light background: the digits are light ink on black
        ink = 1 - ink
    small = Image.fromarray(ink).resize((SIDE, SIDE), Image.Resampling.BOX)
    return np.clip(np.rint(np.asarray(small, dtype=np.float32) * INPUT_MAX), 0, INPUT_MAX).astype(np.float32)


def _border(pixels: np.ndarray) -> np.ndarray:
    return np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
