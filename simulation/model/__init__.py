"""The model core: firms that act, the month they act in, and the park's books.

``model`` holds :class:`SymbiosisModel` and its month, a short schedule of
phases; ``firm`` the :class:`Firm` agent and its decision rules. The rest are the
things the phases work on: materials and their unit costs, streams, contracts,
the market for wastes, logistics (simpy), flows, loans, the policy in force and
the monthly recorder.
"""

from simulation.model.firm import Firm
from simulation.model.model import SymbiosisModel

__all__ = ["Firm", "SymbiosisModel"]
