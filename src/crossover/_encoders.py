"""Encoder settings: how a pre-trained encoder runs (``crossover.models.runtimes`` runs them).

Kept apart from the runtimes, without numpy, so that the command line can name the settings
without loading anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossover.errors import ConfigError

__all__ = ["DEFAULT_ENCODER", "SETTINGS", "TORCH_FP32", "EncoderSetting"]

#: What each runtime can run.
_PRECISIONS: dict[str, tuple[str, ...]] = {
    "torch": ("fp32",),
    "onnx": ("fp32", "int8"),
    "openvino": ("fp32", "bf16", "int8"),
}
SETTINGS: tuple[str, ...] = tuple(f"{r}-{p}" for r, ps in _PRECISIONS.items() for p in ps)
#: The setting strategies run their pre-trained encoder with unless told otherwise: the
#: fastest that stays within 0.5 accuracy points of torch-fp32 on banking77 and sms_spam
#: (benchmarks/encoder_runtimes.py: 6.4x and 7.1x torch's sentences per second, +0.13 and
#: +0.00 points; README, "Pre-trained encoders at CPU speed").
DEFAULT_ENCODER = "openvino-int8"


@dataclass(frozen=True)
class EncoderSetting:
    """How a pre-trained encoder runs: ``runtime`` (torch, onnx, openvino) and ``precision``
    (fp32, bf16, int8)."""

    runtime: str = "torch"
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if self.precision not in _PRECISIONS.get(self.runtime, ()):
            raise ConfigError(
                f"encoder setting {self.runtime}-{self.precision!s} is not one crossover runs; "
                f"choose one of {', '.join(SETTINGS)}"
            )

    @classmethod
    def parse(cls, text: str) -> EncoderSetting:
        """``runtime-precision`` (``openvino-int8``), or a runtime alone for its fp32."""
        value = str(text).strip().lower()
        runtime, _, precision = value.partition("-")
        if runtime not in _PRECISIONS:
            raise ConfigError(
                f"encoder setting {text!r}: unknown runtime {runtime!r}; "
                f"choose one of {', '.join(SETTINGS)}"
            )
        return cls(runtime, precision or "fp32")

    @property
    def tag(self) -> str:
        return f"{self.runtime}-{self.precision}"

    @property
    def converted(self) -> bool:
        """Whether it runs a converted copy (everything but torch-fp32)."""
        return self.runtime != "torch"

    @property
    def calibrated(self) -> bool:
        """Whether building it needs calibration texts (OpenVINO's static int8)."""
        return self.runtime == "openvino" and self.precision == "int8"

    def __str__(self) -> str:
        return self.tag


TORCH_FP32 = EncoderSetting()
