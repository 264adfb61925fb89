"""The packaged, dated price catalog: hardware per hour, API tokens, labels, engineer days.

Every price carries a ``source`` line (where it was read, and when). API token prices come
from LiteLLM's maintained price map (``litellm.model_cost``) when ``litellm`` is installed and
knows the model, and from the catalog otherwise; :meth:`Catalog.api_price` says which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from crossover.costs._yaml import parse_yaml, read_yaml
from crossover.errors import ConfigError

__all__ = ["ApiPrice", "Catalog", "HardwarePrice", "load_catalog"]


@dataclass(frozen=True)
class HardwarePrice:
    """One machine type, billed per hour."""

    name: str
    usd_per_hour: float
    vcpus: int
    memory_gib: float
    gpu: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ApiPrice:
    """A model behind a pay-per-token API; ``origin`` is ``litellm`` or ``catalog``."""

    model: str
    provider: str
    mode: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    source: str
    origin: str = "catalog"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Catalog:
    """Prices with their sources; ``as_of`` is the date the catalog was read."""

    as_of: str
    hardware: dict[str, HardwarePrice]
    api: dict[str, ApiPrice]
    usd_per_label: float
    labels_source: str
    engineer_usd_per_day: float
    engineering_source: str
    path: str = field(default="", compare=False)

    def machine(self, name: str, *, field_name: str = "hardware") -> HardwarePrice:
        """The named machine, or a ConfigError listing the known ones."""
        try:
            return self.hardware[name]
        except KeyError:
            known = ", ".join(sorted(self.hardware))
            raise ConfigError(
                f"{field_name}: unknown machine {name!r}; the catalog has {known} "
                "(or describe your own under hardware: in the scenario)"
            ) from None

    def api_price(self, model: str) -> ApiPrice:
        """The price of ``model``: LiteLLM's price map first, then the catalog."""
        from_litellm = _litellm_price(model)
        if from_litellm is not None:
            return from_litellm
        short = model.split("/", 1)[-1]
        for name in (model, short):
            if name in self.api:
                return self.api[name]
        known = ", ".join(sorted(self.api))
        raise ConfigError(
            f"no price for API model {model!r}: install litellm for its maintained price map, "
            f"or use one of {known}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "hardware": {k: v.to_dict() for k, v in self.hardware.items()},
            "api": {k: v.to_dict() for k, v in self.api.items()},
            "labels": {"usd_per_label": self.usd_per_label, "source": self.labels_source},
            "engineering": {
                "usd_per_day": self.engineer_usd_per_day,
                "source": self.engineering_source,
            },
        }


def _litellm_price(model: str) -> ApiPrice | None:
    from crossover.models.llm import import_litellm

    try:
        litellm = import_litellm()  # its bundled price map: no download
    except ConfigError:
        return None
    entry = getattr(litellm, "model_cost", {}).get(model)
    if not isinstance(entry, dict) or entry.get("input_cost_per_token") is None:
        return None
    version = getattr(litellm, "__version__", None)
    if version is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            version = dist_version("litellm")
        except PackageNotFoundError:
            version = "unknown"
    return ApiPrice(
        model=model,
        provider=str(entry.get("litellm_provider", "")),
        mode=str(entry.get("mode", "chat")),
        input_usd_per_mtok=float(entry["input_cost_per_token"]) * 1e6,
        output_usd_per_mtok=float(entry.get("output_cost_per_token") or 0.0) * 1e6,
        source=f"LiteLLM {version} price map (litellm.model_cost)",
        origin="litellm",
    )


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ConfigError(f"{where}: missing field {key!r}")
    return mapping[key]


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read a catalog YAML (the packaged one by default)."""
    if path is None:
        where = "crossover/costs/catalog.yaml"
        text = resources.files("crossover.costs").joinpath("catalog.yaml").read_text("utf-8")
        raw = parse_yaml(text, where)
    else:
        where = str(path)
        raw = read_yaml(path, "price catalog")
    try:
        hardware = {
            name: HardwarePrice(
                name=name,
                usd_per_hour=float(_require(e, "usd_per_hour", f"{where}: hardware.{name}")),
                vcpus=int(_require(e, "vcpus", f"{where}: hardware.{name}")),
                memory_gib=float(e.get("memory_gib", 0)),
                gpu=e.get("gpu"),
                source=str(_require(e, "source", f"{where}: hardware.{name}")),
            )
            for name, e in (_require(raw, "hardware", where) or {}).items()
        }
        api = {
            name: ApiPrice(
                model=name,
                provider=str(e.get("provider", "")),
                mode=str(e.get("mode", "chat")),
                input_usd_per_mtok=float(_require(e, "input_usd_per_mtok", f"{where}: api.{name}")),
                output_usd_per_mtok=float(e.get("output_usd_per_mtok", 0.0)),
                source=str(_require(e, "source", f"{where}: api.{name}")),
            )
            for name, e in (raw.get("api") or {}).items()
        }
        labels = _require(raw, "labels", where)
        engineering = _require(raw, "engineering", where)
        return Catalog(
            as_of=str(_require(raw, "as_of", where)),
            hardware=hardware,
            api=api,
            usd_per_label=float(_require(labels, "usd_per_label", f"{where}: labels")),
            labels_source=str(_require(labels, "source", f"{where}: labels")).strip(),
            engineer_usd_per_day=float(
                _require(engineering, "usd_per_day", f"{where}: engineering")
            ),
            engineering_source=str(
                _require(engineering, "source", f"{where}: engineering")
            ).strip(),
            path=where,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{where}: a price is not a number or an entry is malformed: {exc}"
        ) from exc
