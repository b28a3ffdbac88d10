"""Policy instruments in force, period by period, and the government's ledger.

Every instrument in a scenario's ``[policy]`` section is a schedule
(:mod:`simulation.scenario.timeline`); :meth:`PolicyTimeline.at` gives the values in
force in a period as a :class:`PolicyState` with the same field names and units
as the scenario (EUR per t, EUR per unit, shares, months).
"""

import bisect
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class PolicyState:
    landfill_tax_eur_per_t: float
    incineration_tax_eur_per_t: float
    virgin_tax_eur_per_t: float
    carbon_price_eur_per_t: float
    subsidy_eur_per_t: float
    capex_subsidy_share: float
    facilitator_participation: float
    min_contract_months: float
    breach_penalty_months: float


class PolicyTimeline:
    def __init__(self, schedules):
        missing = {f.name for f in fields(PolicyState)} - set(schedules)
        if missing:
            raise KeyError(f"policy schedules missing: {sorted(missing)}")
        self.schedules = schedules
        # Every instrument is constant between these periods, so one state serves each stretch.
        self._changes = sorted({p for f in fields(PolicyState) for p in schedules[f.name].periods})
        self._states = {}

    def at(self, period):
        stretch = bisect.bisect_right(self._changes, period)
        state = self._states.get(stretch)
        if state is None:
            state = self._states[stretch] = PolicyState(**{f.name: self.schedules[f.name].at(period) for f in fields(PolicyState)})
        return state


@dataclass
class GovernmentLedger:
    """Money to and from the government in one period (EUR)."""

    waste_tax: float = 0.0  # landfill and incineration taxes
    virgin_tax: float = 0.0
    carbon_revenue: float = 0.0
    subsidies: float = 0.0
    capex_subsidies: float = 0.0

    @property
    def net_cost(self):
        """Subsidies paid minus taxes collected; negative means a net income."""
        return self.subsidies + self.capex_subsidies - self.waste_tax - self.virgin_tax - self.carbon_revenue
