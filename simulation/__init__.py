"""Agent-based simulation of industrial symbiosis.

Data flows one way through the package:

    scenario (catalogue, scenario, synthetic)  ->  model (firm, contract, bargaining,
    market, logistics, policy)  ->  measures (measures, outcome)  ->  outputs (report, figures, cli)
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simulation")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
