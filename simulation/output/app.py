"""The interactive page: a Mesa SolaraViz of one scenario, with sliders for its costs and policies.

``symbiosis app [SCENARIO]`` serves it: solara runs this module and shows :func:`Page`,
which reads the scenario file from the environment variable ``SCENARIO_VARIABLE``. In
Jupyter, ``page("scenarios/demo_park.toml")`` shows the same page in a cell.

The page is Mesa's own (Reset, play and Step buttons; the model's parameters as
sliders, applied at Reset) around six panels: the network as it delivered in the
last month, the outcome so far, one firm, and three time series of the model's
DataCollector. Each slider is a scenario value given as an override
(``PATH=VALUE``, as ``symbiosis run --set`` takes it): a slider left where the
scenario has it leaves the scenario as written, schedules included.
"""

import math
import os
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mesa.visualization import Slider, SolaraViz, make_plot_component

from simulation.measures.outcome import outcome_of
from simulation.model import SymbiosisModel
from simulation.output.network_drawing import width_scales, widths
from simulation.output.palette import material_colours
from simulation.scenario import load

SCENARIO_VARIABLE = "SYMBIOSIS_APP_SCENARIO"


@dataclass(frozen=True)
class Control:
    """A slider: the keyword of :class:`ParkModel`, the scenario value it sets, its label and range."""

    name: str
    path: str
    label: str
    low: float
    high: float
    step: float
    shown: str = ""  # how the page states the value in force, e.g. "contract term {:g} months"


# Ranges wide enough to cross each mechanism's thresholds in the shipped scenarios; a scenario
# whose own value lies outside a range widens it (see model_params).
CONTROLS = (
    Control("landfill_tax", "policy.landfill_tax_eur_per_t", "Landfill tax, EUR/t", 0.0, 200.0, 5.0),
    Control("virgin_tax", "policy.virgin_tax_eur_per_t", "Virgin-material tax, EUR/t", 0.0, 100.0, 5.0),
    Control("carbon_price", "policy.carbon_price_eur_per_t", "Carbon price, EUR/t CO2", 0.0, 200.0, 5.0),
    Control("subsidy", "policy.subsidy_eur_per_t", "Subsidy per t exchanged, EUR/t", 0.0, 50.0, 1.0),
    Control("transport_cost_factor", "logistics.transport_cost_factor", "Transport cost (x catalogue)", 0.0, 5.0, 0.1,
            "transport cost x{:g}"),
    Control("facilitator", "policy.facilitator_participation", "Facilitator: share of firms on the platform",
            0.0, 1.0, 0.05),
    Control("contract_months", "contract.duration_months", "Contract term by truck, months", 1, 120, 1,
            "contract term {:g} months by truck"),
    Control("price_indexation", "contract.price_indexation", "Price indexation, at most (share)", 0.0, 1.0, 0.05,
            "price indexation up to {:g}"),
    Control("deliver_or_pay", "contract.deliver_or_pay_share", "Deliver-or-pay, at most (share)", 0.0, 1.0, 0.05,
            "deliver-or-pay up to {:g}"),
    Control("take_or_pay", "contract.take_or_pay_share", "Take-or-pay, at most (share)", 0.0, 1.0, 0.05, "take-or-pay up to {:g}"),
    Control("holdup", "contract.holdup_share", "Hold-up after a sunk pipeline (share)", 0.0, 1.0, 0.05,
            "hold-up {:g}"),
    Control("reputation_weight", "trust.reputation_weight", "Reputation: trust lost by hearsay (share)",
            0.0, 1.0, 0.05, "reputation weight {:g}"),
    Control("close_after_loss_months", "firm_defaults.close_after_loss_months",
            "Close a plant after months of losses (0: never)", 0, 60, 1, "plants close after {:g} months of losses (0: never)"),
)
CONTROL = {c.name: c for c in CONTROLS}


@dataclass(frozen=True)
class Choice:
    """A drop-down list: the keyword of :class:`ParkModel`, the scenario value it sets, its label and options."""

    name: str
    path: str
    label: str
    options: tuple
    shown: str


CHOICES = (Choice("contract_terms", "contract.terms", "Contract clauses", ("bargained", "standard", "simple"),
                  "clauses {}"),)
CHOICE = {c.name: c for c in CHOICES}


def default_scenario():
    """The demo park, found from the package (so the page starts from any folder of a clone)."""
    return Path(__file__).resolve().parents[2] / "scenarios" / "demo_park.toml"


def scenario_value(scenario, path):
    """The value at ``path`` of a loaded scenario; a policy schedule's value in the first month."""
    section, name = path.split(".")
    if section == "policy":
        return scenario.policy[name].at(0)
    return getattr(getattr(scenario.spec, section), name)


def overrides(scenario, settings):
    """``PATH=VALUE`` for each setting (``{control name: value}``) that differs from ``scenario``'s value."""
    changed = []
    for name, value in settings.items():
        if name in CHOICE:
            if value is not None and value != scenario_value(scenario, CHOICE[name].path):
                changed.append(f'{CHOICE[name].path}="{value}"')
            continue
        if value is None or math.isclose(value, scenario_value(scenario, CONTROL[name].path), abs_tol=1e-12):
            continue
        text = str(int(value)) if isinstance(CONTROL[name].step, int) else repr(float(value))
        changed.append(f"{CONTROL[name].path}={text}")
    return changed


class ParkModel(SymbiosisModel):
    """The model as the page builds it: a scenario file, a seed and the sliders' values.

    A value of None, or the scenario's own (in its first month), leaves the scenario as
    written, schedule and all; any other replaces it for the whole run.
    """

    # Mesa's SolaraViz checks each slider's name against this signature, so the
    # controls are keywords here rather than a **settings (which would also make
    # its Reset pass a Mesa Scenario in).
    def __init__(self, scenario_file=None, seed=None, landfill_tax=None, virgin_tax=None, carbon_price=None,
                 subsidy=None, transport_cost_factor=None, facilitator=None, contract_months=None,
                 price_indexation=None, deliver_or_pay=None, take_or_pay=None, holdup=None,
                 reputation_weight=None, close_after_loss_months=None, contract_terms=None):
        given = locals()
        settings = {c.name: given[c.name] for c in (*CONTROLS, *CHOICES)}
        scenario_file = scenario_file or default_scenario()
        base = load(scenario_file)
        changed = overrides(base, settings)  # kept as self.config.overrides
        super().__init__(load(scenario_file, changed) if changed else base, seed=None if seed is None else int(seed))


def model_params(scenario_file):
    """SolaraViz's ``model_params``: the scenario file (fixed), the seed and a slider per control."""
    scenario = load(scenario_file)
    seed = scenario.spec.scenario.seed
    params = {"scenario_file": str(scenario_file), "seed": Slider("Random seed", seed, 0, max(999, seed), 1)}
    for c in CONTROLS:
        value = scenario_value(scenario, c.path)
        scheduled = c.path.startswith("policy.") and len(scenario.policy[c.path.split(".")[1]].values) > 1
        label = c.label + (" (scenario: a schedule)" if scheduled else "")
        params[c.name] = Slider(label, value, min(c.low, value), max(c.high, value), c.step)
    for c in CHOICES:
        params[c.name] = {"type": "Select", "value": scenario_value(scenario, c.path), "values": list(c.options),
                          "label": c.label}
    return params


def start(scenario_file):
    """The first model of a page and its ``model_params``: what the sliders show is what runs."""
    params = model_params(scenario_file)
    values = {name: p.value if isinstance(p, Slider) else p["value"] if isinstance(p, dict) else p
              for name, p in params.items()}
    return ParkModel(**values), params


# -- the network -------------------------------------------------------------------------
CORE_KM = 6.0  # firms this close to the park's median firm get a panel of their own when the park is much wider
ZOOM_MARGIN_KM = 1.0  # around the core's firms in that panel, for their labels
LABELS_UP_TO = 40  # firms named on a panel; more would be a clump of text
ARROWS_UP_TO = 300  # links drawn as arrows; more as plain segments


def month_flows(model):
    """Contracts that delivered in the last month and what they shipped; before the first month, none."""
    if model.period == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return model.recorder.delivered_in(model.period - 1)


def link_widths(model, contracts, flows):
    """Line width of each link (points): its flow on its unit's scale (t, MWh, m3), as in the run's figures."""
    units = np.array(model.materials.unit, dtype=object)[model.contracts.waste[contracts]].astype(str)
    return widths(flows, units, width_scales(flows, units))


def network_figure(model, selected=None):
    """Firms at their locations; last month's deliveries coloured by material, width by flow within a unit.

    When the park is much wider than its core, the core gets a second, larger panel below the whole park.
    """
    book, firms = model.contracts, model.firms
    contracts, flows = month_flows(model)
    present = np.flatnonzero(firms.active)
    core = _core(firms, present)
    fig = Figure(figsize=(6.4, 5.3 if core is not None else 4.6), layout="constrained")  # the shape of a panel's cell
    axes = fig.subplots(2, 1, height_ratios=(1, 2)) if core is not None else [fig.subplots()]
    edges = (book.supplier[contracts], book.receiver[contracts], book.waste[contracts], link_widths(model, contracts, flows))
    outside = present if core is None else np.setdiff1d(present, core)
    _draw(model, axes[0], present, edges, outside if len(outside) <= LABELS_UP_TO else [], selected)
    if core is not None:
        _draw(model, axes[1], core, edges, core, selected)
        _zoom(axes[1], firms.x[core], firms.y[core])
        axes[0].set_title("the whole park", fontsize=9)
        axes[1].set_title(f"its core: the firms within {CORE_KM:g} km of the median firm", fontsize=9)
    _legend(model, fig, book.waste[contracts])
    month = model.calendar.label(model.period - 1) if model.period else "before the first month"
    fig.suptitle(f"{model.config.name}: {len(contracts)} links delivering, {month}", fontsize=10)
    return fig


def _draw(model, ax, firms_shown, edges, labelled, selected):
    f = model.firms
    a, b, waste, width = edges
    ax.scatter(f.x[firms_shown], f.y[firms_shown], s=float(np.clip(4000 / max(len(firms_shown), 1), 4, 50)),
               c="0.35", zorder=3)
    for i in labelled:
        ax.annotate(f.ids[i], (f.x[i], f.y[i]), fontsize=7, xytext=(3, 3), textcoords="offset points", zorder=4)
    if selected is not None and f.active[selected]:
        ax.scatter(f.x[selected], f.y[selected], s=220, facecolors="none", edgecolors="crimson", lw=2, zorder=5)
    shown = np.flatnonzero(np.isin(a, firms_shown) | np.isin(b, firms_shown))
    if len(shown) > ARROWS_UP_TO:  # thousands of arrows would take a minute a frame; segments take a moment
        ends = np.stack([np.column_stack([f.x[a[shown]], f.y[a[shown]]]), np.column_stack([f.x[b[shown]], f.y[b[shown]]])],
                        axis=1)
        ax.add_collection(LineCollection(ends, colors=material_colours(model.materials, waste[shown]),
                                         linewidths=width[shown] / 4, alpha=0.5))
    colours = dict(zip(shown.tolist(), material_colours(model.materials, waste[shown])))
    for i in shown if len(shown) <= ARROWS_UP_TO else ():
        # Curved: the two directions of a pair bend to opposite sides instead of hiding each other.
        ax.annotate("", xy=(f.x[b[i]], f.y[b[i]]), xytext=(f.x[a[i]], f.y[a[i]]),
                    arrowprops={"arrowstyle": "-|>", "color": colours[i], "lw": width[i],
                                "alpha": 0.8, "connectionstyle": "arc3,rad=0.15", "shrinkA": 3, "shrinkB": 3})
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.08)  # room for the labels of the outermost firms
    ax.set_xlabel("x, km", fontsize=8)
    ax.set_ylabel("y, km", fontsize=8)
    ax.tick_params(labelsize=7)


def _core(firms, present):
    """Firms within CORE_KM of the median firm, when the park is over three times as wide as that; else None."""
    if len(present) < 3:
        return None
    x, y = firms.x[present], firms.y[present]
    near = np.hypot(x - np.median(x), y - np.median(y)) <= CORE_KM
    if near.sum() < 3 or max(np.ptp(x), np.ptp(y)) < 6 * CORE_KM:
        return None
    return present[near]


def _zoom(ax, x, y):
    """Limits around the core's firms only: links to firms further out leave the panel at its edge."""
    ax.set_xlim(x.min() - ZOOM_MARGIN_KM, x.max() + ZOOM_MARGIN_KM)
    ax.set_ylim(y.min() - ZOOM_MARGIN_KM, y.max() + ZOOM_MARGIN_KM)
    ax.set_aspect("equal", adjustable="box")  # fixed limits: the box adapts, not the data range


def _legend(model, fig, wastes):
    materials = sorted(set(wastes.tolist()))
    if not materials:
        return
    handles = [Line2D([], [], color=colour, lw=3, label=f"{model.materials.ids[m]} ({model.materials.unit[m]})")
               for m, colour in zip(materials, material_colours(model.materials, materials))]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, title="material (unit)\nwidth: flow,\nwithin a unit",
               title_fontsize=7, alignment="left")


# -- the panels ------------------------------------------------------------------------------
# The firm shown in the firm panel and ringed on the network (solara keeps one per browser tab).
selected_firm = solara.reactive(None)


def _selected(model):
    """Row of the selected firm, or None when no firm of this model has that id."""
    ids = model.firm_ids
    return ids.index(selected_firm.value) if selected_firm.value in ids else None


def NetworkView(model):
    with solara.Column(classes=["symbiosis-network"]):
        solara.FigureMatplotlib(network_figure(model, _selected(model)), format="png")


# The panels' text is HTML, not solara.Markdown: Markdown loads a maths renderer from a CDN,
# which solara's packaged assets lack, so an offline page would show a script error.
def _html(*blocks):
    inner = "".join(f"<p style='margin: 0 0 6px'>{block}</p>" if not block.startswith("<table") else block
                    for block in blocks)
    return f"<div style='font-size: 13px; line-height: 1.35'>{inner}</div>"


def _labelled(label, text):
    return f"<b>{escape(label)}</b>: {escape(text)}"


def _table(title, rows):
    cells = "".join(f"<tr><td>{escape(name)}</td><td>{escape(value)}</td></tr>" for name, value in rows)
    return (f"<table style='margin: 0 0 6px; border-spacing: 8px 0'><tr><th colspan='2' style='text-align: left'>"
            f"{escape(title)}</th></tr>{cells}</table>")


def OutcomeView(model):
    """The month, the outcome so far (the rule of simulation.measures.outcome), the network's size and the policy."""
    with solara.Column(classes=["symbiosis-outcome"]):
        solara.HTML(unsafe_innerHTML=outcome_html(model))


def outcome_html(model):
    now = model.recorder.current
    outcome = outcome_of(model.recorder.series, model.params.outcome)
    policy = model.policy_timeline.at(max(model.period - 1, 0))
    month = (f"<b>{model.calendar.label(model.period - 1)}</b>, month {model.period} of {model.n_periods}"
             if model.period else f"<b>month 0 of {model.n_periods}</b>: press Step or the play button")
    return _html(
        month,
        _labelled("Outcome so far", outcome.describe(model.calendar)),
        _table("last month", [
            ("links delivering", f"{now['active_links']:.0f} (awaiting pipelines: {now['pending_links']:.0f})"),
            ("firms in the network", f"{now['network_firms']:.0f}, carrying {now['network_materials']:.0f} wastes"),
            ("network flow", f"{now['network_flow_eur']:,.0f} EUR at catalogue prices"),
            ("waste exchanged", f"{now['waste_exchanged_t']:,.0f} t"),
            ("firms in the park", f"{int(model.firms.active.sum())} (left so far: {int((model.firms.left >= 0).sum())})"),
        ]),
        _labelled("Policy in force", f"landfill tax {policy.landfill_tax_eur_per_t:g} EUR/t, virgin-material tax "
                  f"{policy.virgin_tax_eur_per_t:g} EUR/t, carbon price {policy.carbon_price_eur_per_t:g} EUR/t, "
                  f"subsidy {policy.subsidy_eur_per_t:g} EUR/t, facilitator {policy.facilitator_participation:g}"),
        _labelled("Logistics, contracts, trust, firms", f"{_other_settings(model)}; seed {model.seed}"),
        _labelled("Changed from the scenario (sliders apply at Reset)", ", ".join(model.config.overrides) or "nothing"),
    )


def _other_settings(model):
    """The controls that are not policy instruments, as this run has them."""
    return ", ".join(c.shown.format(scenario_value(model.config, c.path)) for c in (*CONTROLS, *CHOICES) if c.shown)


def FirmView(model):
    """One firm, chosen from a list: what it makes, its cash, its partners, its wastes and inputs."""
    row = _selected(model)
    row = 0 if row is None else row
    with solara.Column(classes=["symbiosis-firm"]):
        solara.Select("Firm", value=model.firm_ids[row], values=list(model.firm_ids), on_value=selected_firm.set)
        solara.HTML(unsafe_innerHTML=firm_html(model, row))


def firm_html(model, row):
    firm = model.firm_list[row]
    if firm is None:
        return _html(escape(f"{model.firm_ids[row]} has not entered the park yet"))
    process = model.config.catalogue.processes[firm.process]
    partners = ", ".join(p.firm_id for p in firm.partners) or "none"
    state = "in the park" if firm.active else f"left in {model.calendar.label(int(model.firms.left[row]))}"
    return _html(
        f"<b>{escape(firm.name)}</b> {escape(f'({firm.sector}, {firm.process}), {state}')}",
        _labelled("production last month", f"{firm.production:,.0f} {process.product_unit} of {process.product} "
                  f"(capacity {firm.capacity:,.0f})"),
        _labelled("cash", f"{firm.cash:,.0f} EUR; saved last month by its exchanges: {firm.savings:,.0f} EUR"),
        _labelled(f"partners ({firm.links} active contracts)", partners),
        _labelled("wastes a month", _streams(model, firm.wastes)),
        _labelled("inputs a month", _streams(model, firm.inputs)),
    )


def _streams(model, streams):
    units = model.materials.unit
    return ", ".join(f"{m} {q:,.0f} {units[model.materials.index[m]]}" for m, q in streams.items()) or "none"


def _axes_labels(title, unit):
    def post_process(ax):
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.legend(fontsize=7, loc="upper left")
    return post_process


PLOTS = [
    make_plot_component({"active_links": "tab:blue", "network_firms": "tab:orange", "firms_linked": "tab:green",
                         "pending_links": "tab:gray"}, post_process=_axes_labels("links and firms (x: months)", "count")),
    make_plot_component({"waste_exchanged_t": "tab:blue", "waste_reused_t": "tab:green",
                         "waste_landfilled_t": "tab:red"}, post_process=_axes_labels("waste flows (x: months)", "t a month")),
    make_plot_component({"network_flow_eur": "tab:purple", "savings_eur": "tab:olive"},
                        post_process=_axes_labels("the network's flow and firms' savings (x: months)", "EUR a month")),
]
COMPONENTS = [NetworkView, OutcomeView, PLOTS[0], PLOTS[1], FirmView, PLOTS[2]]


def page(scenario_file=None):
    """The page of ``scenario_file`` (default the demo park), for a Jupyter cell or a solara app."""
    scenario_file = Path(scenario_file or default_scenario()).resolve()
    model, params = start(scenario_file)
    return SolaraViz(model, components=COMPONENTS, model_params=params, name=f"Industrial symbiosis: {model.config.name}")


@solara.component
def Page():
    """What ``symbiosis app`` serves: the page of the scenario it names, one model per browser tab."""
    scenario_file = Path(os.environ.get(SCENARIO_VARIABLE) or default_scenario()).resolve()
    model, params = solara.use_memo(lambda: start(scenario_file), [str(scenario_file)])
    return SolaraViz(model, components=COMPONENTS, model_params=params, name=f"Industrial symbiosis: {model.config.name}")
