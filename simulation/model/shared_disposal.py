"""Shared disposal: one facility several firms send what they cannot place to.

Parks often run a central wastewater treatment plant, a landfill cell or an
incinerator for their firms. A scenario's ``[[shared_disposal]]``
(:class:`simulation.scenario.parameters.SharedDisposal`) says which firms one
serves, for which wastes and from when, and its fee. A member disposes of such
a waste through it wherever that costs it less than the public route: the fee
in place of the material's gate fee (the route's taxes and carbon stay, since
the facility disposes by the same route), plus, under the ``flow`` rule, its
share of the facility's monthly cost per unit sent (:mod:`simulation.model.infrastructure`),
reckoned on what the members are expected to send: the waste of the materials
it serves they expect to make and have not promised away. Cheaper disposal is a cheaper outside option: it
lowers what a supplier saves by exchanging the waste, so shared disposal
competes with symbiosis.
"""

import numpy as np

from simulation.model.infrastructure import SharedInfrastructure


class SharedDisposal(SharedInfrastructure):
    """The scenario's shared disposal facilities."""

    def __init__(self, specs, firm_ids, material_index, calendar, interest_rate_per_year):
        super().__init__(specs, firm_ids, material_index, calendar, interest_rate_per_year)
        self.fee = np.array([spec.fee_eur_per_unit for spec in specs], dtype=float)

    def routes(self, period, firm, waste, public, gate_fee, expected):
        """Where each stream of ``waste`` at ``firm`` is disposed of and at what cost (EUR per unit):
        ``(facility or -1, paid, charged)``, paid being what the firm pays per unit sent (the facility's fee and
        the route's taxes, or ``public``, the public route's cost, whose ``gate_fee`` the fee replaces) and charged
        its share of the facility's cost per unit under the flow rule, the facility being expected to take
        ``expected`` units a month (per facility)."""
        facility = self.serving(period, firm, firm, waste)
        at = np.maximum(facility, 0)
        paid = public - gate_fee + self.fee[at]
        charged = self.flow_charge(period, facility, expected[at])
        use = (facility >= 0) & (paid + charged < public)
        return np.where(use, facility, -1), np.where(use, paid, public), np.where(use, charged, 0.0)
