"""Site of onset and contiguous spread: the onset delay of every muscle from where the disease starts.

The table is ``presets/spread.toml`` (levels along the neuraxis, regions and which regions touch,
sites of onset with their days per region, each with its source). A scenario's ``onset_site``
names a site; the loader turns it into ``onset_delay_days`` for the muscles it does not set itself.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from endplate.errors import EndplateInputError


@cache
def _table() -> dict:
    return tomllib.loads(resources.files("endplate.presets").joinpath("spread.toml").read_text())


def onset_sites(species: str) -> tuple[str, ...]:
    """The sites of onset known for ``species`` (empty where spread is not tabulated, e.g. mouse)."""
    return tuple(_table().get(species, {}).get("sites", {}))


def _species_table(species: str, site: str) -> dict:
    known = onset_sites(species)
    if site not in known:
        allowed = ", ".join(known) if known else f"none ({species} has no tabulated sites of onset)"
        raise EndplateInputError(f"unknown onset_site {site!r} for {species}; allowed: {allowed}")
    return _table()[species]


def region_of(species: str, muscle: str) -> str:
    """The region (bulbar, respiratory, upper_limb, lower_limb) that ``muscle`` belongs to."""
    for name, region in _table().get(species, {}).get("regions", {}).items():
        if muscle in region["muscles"]:
            return name
    raise EndplateInputError(f"{species} muscle {muscle!r} has no region in presets/spread.toml; it cannot be placed for spread")


def susceptibility(species: str, muscle: str) -> float:
    """The disease-hazard multiplier of ``muscle``'s motor neuron pool (1 where the table lists none)."""
    entry = _table().get(species, {}).get("susceptibility", {}).get(muscle)
    return 1.0 if entry is None else float(entry["value"])


def onset_region_muscles(species: str, site: str) -> tuple[str, ...]:
    """The muscles of the region where ``site``'s weakness starts."""
    t = _species_table(species, site)
    return tuple(t["regions"][t["sites"][site]["region"]]["muscles"])


def _hops(regions: dict, start: str) -> dict[str, int]:
    """Contiguity steps from ``start`` to every region (breadth first over ``neighbours``)."""
    hops, frontier = {start: 0}, [start]
    while frontier:
        nxt = []
        for r in frontier:
            for n in regions[r]["neighbours"]:
                if n not in hops:
                    hops[n] = hops[r] + 1
                    nxt.append(n)
        frontier = nxt
    return hops


def spread_delays(species: str, site: str, muscles: tuple[str, ...] | list[str]) -> dict[str, float]:
    """Onset delay (days after the site's first muscle) of each of ``muscles`` for onset at ``site``.

    hops x days_per_region of the site (or the site's own ``days_to_region`` for that region, where
    one is published), plus the distance in segments from the level where spread enters the
    muscle's region x days_per_segment (see presets/spread.toml).
    """
    t = _species_table(species, site)
    levels, regions, s = t["levels"], t["regions"], t["sites"][site]
    onset_level = levels[s["first_muscle"]]
    hops = _hops(regions, s["region"])
    per_region, per_segment = s["days_per_region"]["value"], t["days_per_segment"]["value"]
    own = {r: v["value"] for r, v in s.get("days_to_region", {}).items()}
    out = {}
    for m in muscles:
        region = region_of(species, m)
        if region == s["region"]:
            entry = onset_level
        else:
            entry = min((levels[x] for x in regions[region]["muscles"]), key=lambda v: abs(v - onset_level))
        reached = own.get(region, hops[region] * per_region)
        out[m] = reached + abs(levels[m] - entry) * per_segment
    return out
