"""The DynamoDB price table: one editable YAML file (``analysis/prices.yaml``), read here.

The file is validated strictly like a scenario (unknown keys, wrong types and negative prices
are errors naming the key and the file), so a typo cannot silently price a plan at zero.

Example::

    >>> p = load_prices()
    >>> p.region, p.on_demand.read_per_million
    ('us-east-1', 0.125)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ddbbench.errors import ConfigError
from ddbbench.typed import build, rule

DEFAULT_PRICES = Path(__file__).with_name("prices.yaml")
PRICES_VERSION = 1


@dataclass(frozen=True)
class OnDemand:
    read_per_million: float = rule(0.0, what="a price in USD", ge=0)
    write_per_million: float = rule(0.0, what="a price in USD", ge=0)


@dataclass(frozen=True)
class Provisioned:
    rcu_hour: float = rule(0.0, what="a price in USD", ge=0)
    wcu_hour: float = rule(0.0, what="a price in USD", ge=0)


@dataclass(frozen=True)
class Storage:
    gb_month: float = rule(0.0, what="a price in USD", ge=0)
    free_gb: float = rule(0.0, what="a size in GB", ge=0)


@dataclass(frozen=True)
class Prices:
    version: int = rule(PRICES_VERSION, what="a price table version", ge=1, le=PRICES_VERSION)
    region: str = ""
    table_class: str = "STANDARD"
    currency: str = "USD"
    as_of: str = ""
    source: str = ""
    on_demand: OnDemand = field(default_factory=OnDemand)
    provisioned: Provisioned = field(default_factory=Provisioned)
    storage: Storage = field(default_factory=Storage)
    hours_per_month: float = rule(730.0, what="hours", gt=0, le=744)

    @property
    def seconds_per_month(self) -> float:
        return self.hours_per_month * 3600.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_prices(path: str | Path | None = None) -> Prices:
    """Read and validate a price table (default: the shipped ``analysis/prices.yaml``)."""
    path = Path(path) if path is not None else DEFAULT_PRICES
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--prices: cannot read {path} ({exc.strerror})") from None
    except (UnicodeDecodeError, yaml.YAMLError):
        raise ConfigError(f"--prices: {path} is not a YAML price table") from None
    if not isinstance(doc, dict) or "version" not in doc:
        raise ConfigError(f"--prices: {path} is not a price table (a mapping with version: "
                          f"{PRICES_VERSION}; see analysis/prices.yaml)")
    prices = build(Prices, doc, str(path))
    _require_every_price(doc, path)
    return prices


def _require_every_price(doc: dict[str, Any], path: Path) -> None:
    # A price left out would silently be 0 (the dataclass default): refuse it instead.
    for section, cls in (("on_demand", OnDemand), ("provisioned", Provisioned), ("storage", Storage)):
        given = doc.get(section) or {}
        for f in dataclasses.fields(cls):
            if f.name not in given:
                raise ConfigError(f"{path}: {section}.{f.name}: missing; every price must be given")


def prices_record(prices: Prices, path: str | Path | None) -> dict[str, Any]:
    """What a plan records about its price table: the file, a digest and every value."""
    path = Path(path) if path is not None else DEFAULT_PRICES
    values = prices.to_dict()
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
    return {"file": str(path.resolve()), "sha256_of_values": digest, **values}
