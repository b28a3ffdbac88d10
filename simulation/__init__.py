"""Agent-based simulation of industrial symbiosis.

Data flows one way through the package, one subpackage per stage:

    scenario  ->  model  ->  measures  ->  output  ->  experiment  ->  cli

``scenario`` reads and checks the input files; ``model`` is the agent-based core
(firms and the month they act in); ``measures`` summarises whole runs; ``output``
writes tables, figures and reports; ``experiment`` runs many models (sweeps,
comparisons) and analyses them; ``cli`` is the ``symbiosis`` command. A module
imports only from its own stage or an earlier one.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simulation")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
