"""The firm: a plant that produces, emits wastes, and decides on exchanges.

Quantities that change every month for every firm (production, cash, storage)
live in the model's numpy arrays, indexed by ``Firm.index``; the agent object
keeps what is genuinely per firm and decided one at a time: whom it knows, how
much it trusts each partner, its attitude to risk, and its choices (search,
offers, investment in recovery technology).
"""

import mesa


class Firm(mesa.Agent):
    """A firm of the park.

    Attributes:
        index: row of this firm in the model's arrays.
        firm_id, name, sector, process: identity and current recipe.
        acquaintances: indices of firms it knows beyond its neighbourhood.
        platform_draw: uniform draw; the firm is on the facilitator's platform
            while it is below the participation rate in force.
    """

    def __init__(self, model, index, firm_id, name, sector, process):
        super().__init__(model)
        self.index = index
        self.firm_id = firm_id
        self.name = name or firm_id
        self.sector = sector
        self.process = process
        self.acquaintances = set()
        self.platform_draw = float(model.rng.random())

    # -- knowledge and trust ---------------------------------------------------
    def trust_in(self, other):
        """Trust in [0, 1] in firm ``other``: learnt from past deliveries, ``trust.initial`` for strangers."""
        return float(self.model.trust_between(self.index, other)[0])

    def meet(self, others):
        for other in others:
            if other != self.index:
                self.acquaintances.add(other)
                self.model.firm_list[other].acquaintances.add(self.index)

    def on_platform(self):
        return self.platform_draw < self.model.policy_now.facilitator_participation

    def consider_investment(self):
        """Invest in recovery technology for an own waste that can replace an own input.

        Invests when the monthly saving over ``contract.duration_months`` repays the
        capex (after subsidy) with the firm's hurdle rate on top, and cash allows.
        Returns True if it invested.
        """
        m = self.model
        for option in m.recovery_options(self.index):
            s, d, k, quantity, monthly_gain, capex = option
            horizon = m.params.contract.duration_months
            if monthly_gain * horizon >= capex * (1 + m.firm_attrs["hurdle_rate"][self.index]) and m.cash[self.index] >= capex:
                m.install_recovery(self.index, s, d, k, quantity, capex)
                return True
        return False
