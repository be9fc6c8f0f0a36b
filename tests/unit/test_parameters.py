import csv
import math
from importlib import resources

import pytest

from endplate import EndplateInputError, default_parameters
from endplate.junction.parameters import SPECIES, parameter_names, parameter_provenance

EVIDENCE = {"read", "recalled", "secondary", "assumed"}


def _bibliography_keys():
    text = resources.files("endplate.data").joinpath("bibliography.csv").read_text()
    return {row["key"] for row in csv.DictReader(text.splitlines())}


@pytest.mark.parametrize("species", SPECIES)
def test_every_default_has_a_known_source_and_evidence_flag(species):
    provenance = parameter_provenance(species)
    keys = _bibliography_keys()
    assert set(parameter_names()) <= set(provenance)
    for name, p in provenance.items():
        assert p.evidence in EVIDENCE, name
        assert p.source in keys, (name, p.source)
        if p.evidence == "assumed":
            assert p.note, f"{name} is assumed but says not why"


def test_unknown_parameter_is_refused_with_the_allowed_names(mouse):
    with pytest.raises(EndplateInputError, match="unknown junction parameter.*allowed: ca_mm"):
        mouse.replace(not_a_parameter=1.0)


@pytest.mark.parametrize(
    "name,value", [("release_probability_max", 1.2), ("rrp_capacity_quanta", -5), ("quantal_cv", math.nan), ("ca_mm", -1.0)]
)
def test_out_of_range_values_are_refused_naming_the_parameter(mouse, name, value):
    with pytest.raises(EndplateInputError, match=name):
        mouse.replace(**{name: value})


def test_unknown_species_lists_the_available_ones():
    with pytest.raises(EndplateInputError, match="allowed: mouse, human"):
        default_parameters("rat")


def test_magnesium_competes_with_calcium_at_the_release_site(mouse):
    assert mouse.replace(mg_mm=5.0).ca_occupancy < mouse.ca_occupancy
    assert mouse.replace(ca_mm=0.5).release_probability() < mouse.release_probability()


def test_ache_inhibition_enlarges_quanta_and_raises_desensitisation(mouse):
    inhibited = mouse.replace(ache_activity_relative=0.2)
    assert inhibited.quantal_size_mv > mouse.quantal_size_mv
    assert inhibited.desensitisation_per_quantum_effective > mouse.desensitisation_per_quantum_effective


def test_threshold_below_rest_is_refused(mouse):
    with pytest.raises(EndplateInputError, match="threshold_potential_mv"):
        mouse.replace(threshold_potential_mv=-90.0)
