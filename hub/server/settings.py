"""What an operator sets for `zoohub serve`: flags, with environment variables as defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MAX_UPLOAD = 4 << 30  # 4 GiB: a large model file, not a whole disk
DEFAULT_RATE = 50.0  # requests per second per client, refilled continuously
DEFAULT_BURST = 200


def _env_float(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number") from None


@dataclass(frozen=True)
class ServerSettings:
    """read_needs_token: reading (list, resolve, download) needs a token too; writing always does.
    max_upload_bytes: a larger blob upload gets 413. rate_per_second / burst: a token bucket per client
    address; rate 0 turns the limit off."""

    read_needs_token: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    rate_per_second: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST

    def __post_init__(self) -> None:
        if not self.max_upload_bytes >= 1:
            raise ValueError(f"the upload limit must be at least 1 byte, got {self.max_upload_bytes}")
        if not 0 <= self.rate_per_second < float("inf"):
            raise ValueError(f"the request rate must be a number >= 0 (0 = no limit), got {self.rate_per_second}")
        if not self.burst >= 1:
            raise ValueError(f"the burst must be at least 1 request, got {self.burst}")

    @classmethod
    def from_env(cls) -> "ServerSettings":
        """ZOOHUB_SERVER_READ=token|open, ZOOHUB_SERVER_MAX_UPLOAD (bytes), ZOOHUB_SERVER_RATE, ZOOHUB_SERVER_BURST."""
        read = os.environ.get("ZOOHUB_SERVER_READ", "open").strip().lower()
        if read not in ("open", "token"):
            raise ValueError(f"ZOOHUB_SERVER_READ={read!r}: expected 'open' or 'token'")
        return cls(read_needs_token=read == "token",
                   max_upload_bytes=int(_env_float("ZOOHUB_SERVER_MAX_UPLOAD", DEFAULT_MAX_UPLOAD)),
                   rate_per_second=_env_float("ZOOHUB_SERVER_RATE", DEFAULT_RATE),
                   burst=int(_env_float("ZOOHUB_SERVER_BURST", DEFAULT_BURST)))
