"""Policy instruments in force, month by month, and the government's ledger.

Every instrument in a scenario's ``[policy]`` section
(:class:`simulation.scenario.parameters.Policy`) is a schedule
(:mod:`simulation.scenario.timeline`); :meth:`PolicyTimeline.at` gives the
values in force in a month as a :class:`PolicyState`, whose fields are the
section's fields (same names, units: EUR per t, EUR per unit, shares, months).
A new instrument is one field of ``Policy``; this module follows it.
"""

from dataclasses import dataclass, fields, make_dataclass

from simulation.scenario.parameters import Policy

PolicyState = make_dataclass(
    "PolicyState", [(name, float) for name in Policy.model_fields], frozen=True,
    namespace={"__doc__": "The value of every ``[policy]`` instrument in force in one month."},
)


class PolicyTimeline:
    def __init__(self, schedules):
        missing = {f.name for f in fields(PolicyState)} - set(schedules)
        if missing:
            raise KeyError(f"policy schedules missing: {sorted(missing)}")
        self.schedules = schedules

    def at(self, period):
        """The instruments in force in month ``period``."""
        return PolicyState(**{f.name: self.schedules[f.name].at(period) for f in fields(PolicyState)})


@dataclass
class GovernmentLedger:
    """Money to and from the government in one month (EUR)."""

    waste_tax: float = 0.0  # landfill and incineration taxes
    virgin_tax: float = 0.0
    carbon_revenue: float = 0.0
    subsidies: float = 0.0
    capex_subsidies: float = 0.0

    @property
    def net_revenue(self):
        """Taxes and carbon revenue collected minus subsidies paid: + = the state gains."""
        # The negated sum in this order gives the numbers of runs made before the sign convention, to the bit.
        return -(self.subsidies + self.capex_subsidies - self.waste_tax - self.virgin_tax - self.carbon_revenue)
