"""The ``Scenario``: the business assumptions a study is priced under (YAML, ``--scenario``).

Every field has a default; a file sets only what differs. Unknown fields, wrong types and
out-of-range values are a ``ConfigError`` naming the field. Prices left empty (``null``) come
from the packaged catalog (see ``crossover prices``). An example, with every default::

    volume:
      predictions_per_month: 1000000   # at month 1
      growth_per_month: 0.0            # 0.05 = +5 % a month, compounding
    hardware:
      serving: c7i.xlarge              # a catalog machine (crossover prices)
      training: c7i.xlarge
      utilisation: 0.5                 # average share of the serving capacity in use
      min_instances: 1                 # a self-hosted model runs at least this many, 24/7
    labels:
      owned: null                      # null: the labelled rows the study trained on
      usd_per_label: null              # null: the catalog's price
    retraining:
      every_months: 3                  # 0: never retrained
    engineering:
      usd_per_day: null                # null: the catalog's day rate
      setup_days: {pretrained: 3, custom: 10, hybrid: 8}
      maintenance_days_per_month: {pretrained: 0.5, custom: 1.5, hybrid: 1.0}
    horizon_months: 24
    constraints:
      min_metric: null                 # on the study's headline metric; where lower is
                                       # better (MASE), the largest error accepted
      max_p95_latency_ms: null         # single-row p95, as measured
      max_monthly_usd: null            # at the scenario volume, month 1
      on_premises: false               # true: no external API may see the data
      deadline_days: null              # calendar days until it must be in production
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crossover.costs._yaml import read_yaml
from crossover.errors import ConfigError

if TYPE_CHECKING:
    from crossover.costs.catalog import Catalog

__all__ = ["Scenario", "load_scenario"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Volume(_Section):
    predictions_per_month: float = Field(1_000_000, ge=0)
    growth_per_month: float = Field(0.0, ge=-0.99, le=10)


class Hardware(_Section):
    serving: str = "c7i.xlarge"
    training: str = "c7i.xlarge"
    utilisation: float = Field(0.5, gt=0, le=1)
    min_instances: int = Field(1, ge=0)


class Labels(_Section):
    owned: int | None = Field(None, ge=0)
    usd_per_label: float | None = Field(None, ge=0)


class Retraining(_Section):
    every_months: float = Field(3, ge=0)


class PerKind(_Section):
    pretrained: float = Field(ge=0)
    custom: float = Field(ge=0)
    hybrid: float = Field(ge=0)

    def of(self, kind: str) -> float:
        return float(getattr(self, kind))


class Engineering(_Section):
    usd_per_day: float | None = Field(None, ge=0)
    setup_days: PerKind = PerKind(pretrained=3, custom=10, hybrid=8)
    maintenance_days_per_month: PerKind = PerKind(pretrained=0.5, custom=1.5, hybrid=1.0)


class Constraints(_Section):
    #: A score between 0 and 1, or for an error such as MASE (no upper bound) the largest one
    #: accepted; a score above 1 leaves no candidate, which the recommendation says.
    min_metric: float | None = Field(None, ge=0)
    max_p95_latency_ms: float | None = Field(None, gt=0)
    max_monthly_usd: float | None = Field(None, ge=0)
    on_premises: bool = False
    deadline_days: float | None = Field(None, gt=0)


class Scenario(_Section):
    """The business assumptions; see the module docstring for every field and its default.

    ``setup_days`` are engineering-time assumptions by strategy kind, not measurements: a
    pre-trained model still needs an integration; a custom model needs data work, training and
    evaluation code; a hybrid reuses a pre-trained encoder and trains a small head. A strategy
    whose build is another kind's work says so (``Strategy.engineering_kind``: LightGBM with
    text embeddings, or ALS blended with content, is priced as a custom model; a popularity
    list as an integration, like a pre-trained model). Set them for your team.
    """

    volume: Volume = Volume()
    hardware: Hardware = Hardware()
    labels: Labels = Labels()
    retraining: Retraining = Retraining()
    engineering: Engineering = Engineering()
    horizon_months: int = Field(24, ge=1, le=240)
    constraints: Constraints = Constraints()
    source: str = Field("defaults", exclude=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def engineering_assumed(self) -> bool:
        """Whether the engineering days are crossover's defaults by kind (an assumption the
        user did not make), rather than the scenario's own."""
        default = Engineering()
        mine = self.engineering
        return (mine.setup_days, mine.maintenance_days_per_month) == (
            default.setup_days,
            default.maintenance_days_per_month,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "scenario") -> Scenario:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: a scenario is a YAML mapping of fields, not {data!r}")
        try:
            return cls.model_validate({**data, "source": where})
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                name = ".".join(str(p) for p in error["loc"])
                if error["type"] == "extra_forbidden":
                    problems.append(f"{name}: unknown field (see `crossover costs --help`)")
                else:
                    problems.append(f"{name}: {error['msg']} (got {error.get('input')!r})")
            raise ConfigError(f"{where}: " + "; ".join(problems)) from None

    def check(self, catalog: Catalog) -> Scenario:
        """Fail now, before any work, on machines the catalog does not know."""
        catalog.machine(self.hardware.serving, field_name=f"{self.source}: hardware.serving")
        catalog.machine(self.hardware.training, field_name=f"{self.source}: hardware.training")
        return self

    def with_volume(self, predictions_per_month: float) -> Scenario:
        volume = self.volume.model_copy(update={"predictions_per_month": predictions_per_month})
        return self.model_copy(update={"volume": volume})

    def with_labels_owned(self, owned: int) -> Scenario:
        labels = self.labels.model_copy(update={"owned": owned})
        return self.model_copy(update={"labels": labels})

    def with_min_metric(self, value: float | None) -> Scenario:
        constraints = self.constraints.model_copy(update={"min_metric": value})
        return self.model_copy(update={"constraints": constraints})


def load_scenario(path: str | Path | None) -> Scenario:
    """The scenario in a YAML file, or the defaults for None."""
    if path is None:
        return Scenario()
    return Scenario.from_dict(read_yaml(path, "scenario") or {}, where=str(path))
