"""endplate: a stochastic simulator of the neuromuscular junction in health and in ALS."""

from endplate._version import __version__
from endplate.errors import EndplateInputError
from endplate.junction.parameters import JunctionParameters, default_parameters
from endplate.junction.population import JunctionPopulation, JunctionState, make_population
from endplate.kernels import TrainRecord, run_train

__all__ = [
    "__version__", "EndplateInputError", "JunctionParameters", "default_parameters",
    "JunctionPopulation", "JunctionState", "make_population", "TrainRecord", "run_train",
]
