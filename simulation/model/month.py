"""One month as its phases share it: when it is, the policy and prices in force, and its books.

:meth:`simulation.model.model.SymbiosisModel.step` makes a :class:`Month` and
hands it to each phase in turn. A phase reads what earlier phases left in it
(the unit costs, the physical flows) and adds to its books (the government's
ledger, what firms spent, the counts the measures report).
"""

from dataclasses import dataclass, field

from simulation.model.policy import GovernmentLedger


@dataclass
class Month:
    period: int  # months since the start of the run
    policy: object  # the PolicyState in force
    costs: object = None  # UnitCosts, set by the prices phase
    ledger: GovernmentLedger = field(default_factory=GovernmentLedger)
    spend: dict = field(default_factory=lambda: {"search": 0.0, "capex": 0.0, "setup": 0.0, "networks": 0.0})  # EUR, all firms
    # Counts of the month, for the measures.
    born: int = 0  # links that started delivering
    ended: int = 0  # links that ended (renewals excluded)
    revised: int = 0  # contracts whose promised quantity was cut back
    held_up: int = 0  # contracts renegotiated by a supplier once the receiver's pipeline was sunk
    searches: int = 0
    platform_links: int = 0  # links signed with a partner found only through the facilitator's platform
    investments: int = 0
    exits: int = 0
    # Set by the physical month and the accounts.
    flows: object = None  # MonthFlows
    running: object = None  # ids of the contracts the flows are for
    recovery: object = None  # the recovery installations' arrays the flows are for
    savings: float = 0.0  # EUR, all firms, against no exchange at all
    fiscal_effect: float = 0.0  # EUR
    co2_avoided: float = 0.0  # t
    co2_attributed: float = 0.0  # t: co2_avoided plus the fuel products made from exchanged feedstock displace
    energy_saved: float = 0.0  # MWh of fuel, net
    shared_disposal: float = 0.0  # EUR the members paid for the shared disposal facilities' costs
