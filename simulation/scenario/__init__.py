"""Data in: a scenario file and its catalogue, validated into what a run needs.

``load`` reads a scenario (``parameters`` defines its sections, ``catalogue`` the
materials, processes and substitutions it names); ``timeline`` turns dates and
schedules into months; ``synthetic`` draws generated parks; ``snapshot`` keeps
the files a sweep's workers read.
"""

from simulation.scenario.loader import Scenario, apply_override, load

__all__ = ["Scenario", "apply_override", "load"]
