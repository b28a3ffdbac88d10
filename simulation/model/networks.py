"""Shared networks: one pipe network, many connections, its cost shared by rule.

Real parks run networks that many firms tap: a recycled-water main, a steam
header, a gas grid inside the fence. Priced pipe by pipe, every customer of
such a network would pay for a pipeline of its own; a scenario's
``[[networks]]`` (:class:`simulation.scenario.parameters.SharedNetwork`) says
which firms one connects, what it carries and from when. Between two members,
an exchange of what it carries goes through it: no pipeline to build, no
construction time, nothing a supplier could hold up. Its monthly cost is shared
as :mod:`simulation.model.infrastructure` says, the units being those each
member *received* through it. Under the ``flow`` rule a deal is priced with the
charge per unit it would bear, the month's cost over the units the network's
running contracts carry with it included, so the first user of a network pays
for all of it and each new one makes it cheaper for the others; under the
``equal`` rule the fee is the same with or without any one deal, so no deal is
priced with it.
"""

from simulation.model.infrastructure import SharedInfrastructure


class SharedNetworks(SharedInfrastructure):
    """The scenario's shared networks: a network's load is what its contracts carry
    (:meth:`~SharedInfrastructure.through`), and a contract's charge per unit its share under the flow rule
    (:meth:`~SharedInfrastructure.flow_charge`)."""

