"""Figures of a run, as PNG files: the network at the end and the time series."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Patch

from simulation.model.contract import ACTIVE
from simulation.model.firm import EXIT_REASONS
from simulation.output.tables import formed

PNG = {"dpi": 120, "metadata": {"Software": None}}
ARROWS_UP_TO = 300  # links drawn as arrows; more are drawn as plain segments


TIMELINE_UP_TO = 150  # links; a longer timeline is unreadable and is not drawn


def figure_files(model, links=None, yearly=None):
    """``(file name, draw(path))`` for each figure of a run, in the order they are written.

    Which figures there are depends on the run alone; ``links`` and ``yearly``
    (report.link_table, report.yearly_table) are needed only to draw them.
    """
    def saved(make):
        def draw(path):
            make().savefig(path, **PNG)
            plt.close("all")
        return draw

    files = [("network.png", saved(lambda: network_figure(model))),
             ("timeseries.png", saved(lambda: timeseries_figure(model)))]
    first, last = (int(model.calendar.label(t)[:4]) for t in (0, model.period - 1))
    if last > first:  # the yearly table has more than one row
        files.append(("benefits.png", saved(lambda: benefits_figure(model, yearly))))
    if 0 < model.contracts.n_links <= TIMELINE_UP_TO:  # the link table has a row per link
        files.append(("timeline.png", saved(lambda: timeline_figure(model, links))))
    for year, period in network_years(model):
        files.append((f"network_{year}.png", saved(lambda period=period: network_at(model, period))))
    return files


def count_figures(model):
    """How many figures :func:`figure_files` gives for a finished run, without building its tables."""
    return len(figure_files(model))


def network_years(model):
    """(year, period) of each ``[report] network_years`` entry that falls within the run."""
    periods = [(year, model.calendar.period_of(f"{year}-01")) for year in model.config.spec.report.network_years]
    return [(year, period) for year, period in periods if 0 <= period < model.period]


def network_at(model, period):
    """The network as it delivered in month ``period`` (needs the exchange log)."""
    contracts, shipped = model.recorder.delivered_in(period)
    present = np.flatnonzero((model.firms.entry <= period) & ((model.firms.left < 0) | (model.firms.left > period)))
    title = f"{model.config.name}: exchanges in {model.calendar.label(period)}"
    return network_figure(model, contracts, title, flows=shipped, present=present)


CORE_KM = 6.0  # a park whose far members dwarf its core gets a second panel: the firms this close to its centre


def network_figure(model, contracts=None, title=None, flows=None, present=None):
    """Firms at their locations (km); edges coloured by material, width by monthly flow.

    Widths compare flows of the same material (units differ between materials).
    By default: the firms and contracts active at the end, sized by promised quantity.
    """
    book = model.contracts
    contracts = book.where(ACTIVE) if contracts is None else contracts
    present = np.flatnonzero(model.firms.active) if present is None else present
    flows = book.quantity[contracts] if flows is None else flows
    wastes = sorted({int(w) for w in book.waste[contracts]})
    colours = plt.colormaps["tab10"] if len(wastes) <= 10 else plt.colormaps["tab20"]
    waste = book.waste[contracts]
    colour = [colours(wastes.index(int(w)) % colours.N) for w in waste]
    widest = np.array([flows[waste == w].max() for w in waste]) if len(flows) else np.ones(0)
    width = 0.8 + 4.0 * np.divide(flows, widest, out=np.zeros(len(flows)), where=widest > 0)
    edges = (book.supplier[contracts], book.receiver[contracts], colour, width)
    core = _core(model, present)
    if core is None:
        fig, ax = plt.subplots(figsize=(8, 7))
    else:
        fig, (ax, zoom) = plt.subplots(1, 2, figsize=(14, 7), width_ratios=(1, 1))
        _draw_network(model, zoom, core, edges, labels=True)
        half = CORE_KM / 2 + 0.5
        centre_x, centre_y = np.median(model.firms.x[core]), np.median(model.firms.y[core])
        zoom.set_aspect("equal", adjustable="box")  # fixed limits: the box, not the data range, adapts
        zoom.set_xlim(centre_x - half, centre_x + half)
        zoom.set_ylim(centre_y - half, centre_y + half)
        zoom.set_title(f"the core, {2 * half:.0f} km across")
        zoom.set_xlabel("x (km)")
    _draw_network(model, ax, present, edges, labels=len(present) <= 40)
    for i, w in enumerate(wastes):
        ax.plot([], [], color=colours(i % colours.N), lw=3, label=f"{model.materials.ids[w]} ({model.materials.unit[w]})")
    if wastes:
        ax.legend(loc="best", fontsize=7, title="material (width: flow)", title_fontsize=7)
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")
    title = title or f"{model.config.name}: exchanges active in {model.calendar.label(max(model.period - 1, 0))}"
    (fig.suptitle if core is not None else ax.set_title)(title)
    fig.tight_layout()
    return fig


def _draw_network(model, ax, present, edges, labels, fontsize=8):
    a, b, colour, width = edges
    ax.scatter(model.firms.x[present], model.firms.y[present], s=_marker_size(len(present)), c="0.35", zorder=3)
    if labels:
        for i in present.tolist():
            ax.annotate(model.firm_ids[i], (model.firms.x[i], model.firms.y[i]), fontsize=fontsize, xytext=(3, 3), textcoords="offset points")
    if len(a) <= ARROWS_UP_TO:
        for i in range(len(a)):
            ax.annotate("", xy=(model.firms.x[b[i]], model.firms.y[b[i]]), xytext=(model.firms.x[a[i]], model.firms.y[a[i]]),
                        arrowprops={"arrowstyle": "-|>", "color": colour[i], "lw": width[i], "alpha": 0.8})
    else:  # thousands of arrows would take minutes to draw; plain segments do not
        segments = np.stack([np.column_stack([model.firms.x[a], model.firms.y[a]]), np.column_stack([model.firms.x[b], model.firms.y[b]])], axis=1)
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=width / 4, alpha=0.5))
    ax.set_aspect("equal", adjustable="datalim")


def _core(model, present):
    """Firms within CORE_KM of the median firm, when the whole map is over ten times wider; else None."""
    if len(present) < 3:
        return None
    x, y = model.firms.x[present], model.firms.y[present]
    near = np.hypot(x - np.median(x), y - np.median(y)) <= CORE_KM
    extent = max(np.ptp(x), np.ptp(y))
    if near.sum() < 3 or extent < 10 * CORE_KM or len(present) > 40:
        return None
    return present[near]


def _marker_size(n):
    return float(np.clip(4000 / max(n, 1), 2, 60))


def timeseries_figure(model):
    """The network over time: links, firms, the network's size and flow, waste fates; firms that left marked."""
    frame = model.datacollector.get_model_vars_dataframe()
    years = [model.calendar.date_of(t) for t in range(len(frame))]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    top.plot(years, frame["active_links"], label="active links")
    top.plot(years, frame["firms_linked"], label="firms linked")
    top.plot(years, frame["network_firms"], label="firms in the network (largest group delivering)", ls="-.")
    top.plot(years, frame["pending_links"], label="links awaiting pipelines", ls=":")
    top.set_ylabel("count")
    flow = top.twinx()
    flow.plot(years, frame["network_flow_eur"] / 1e3, color="0.5", lw=0.8, label="network flow (right)")
    flow.set_ylabel("network flow, k EUR a month at catalogue prices")
    flow.set_ylim(bottom=0)
    lines = top.get_legend_handles_labels()[0] + flow.get_legend_handles_labels()[0]
    top.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="best")
    top.set_title(f"{model.config.name}: symbiosis network over time")
    _mark_departures(model, top)
    bottom.plot(years, frame["waste_exchanged_t"] + frame["waste_reused_t"], label="exchanged + reused (t/month)")
    bottom.plot(years, frame["waste_landfilled_t"], label="landfilled (t/month)")
    bottom.plot(years, frame["waste_disposed_t"], label="disposed, all routes (t/month)", ls="--")
    bottom.set_ylabel("t per month")
    bottom.set_xlabel("year")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _mark_departures(model, ax):
    """A dotted line in each month firms left, labelled with the firms and why (the first dozen months)."""
    f = model.firms
    by_month = {}
    for i in np.flatnonzero(f.left >= 0).tolist():
        by_month.setdefault(int(f.left[i]), {}).setdefault(EXIT_REASONS[f.exit_reason[i]], []).append(f.ids[i])
    for period in sorted(by_month)[:12]:
        year = model.calendar.date_of(period)
        ax.axvline(year, color="0.3", ls=":", lw=0.8)
        text = "; ".join(f"{', '.join(firms)}: {why}" for why, firms in by_month[period].items())
        ax.annotate(text, (year, 0.02), xycoords=("data", "axes fraction"), fontsize=6, rotation=90,
                    ha="right", va="bottom", xytext=(-1, 0), textcoords="offset points")


def timeline_figure(model, links):
    """One row per link, a bar from its first delivery (or signing) to its end, coloured by material."""
    links = links.assign(formed=formed(links)).sort_values(["signed", "link"]).reset_index(drop=True)
    calendar = model.calendar
    end_year = calendar.date_of(model.period)
    materials = sorted(set(links["material"]))
    colours = plt.colormaps["tab10"] if len(materials) <= 10 else plt.colormaps["tab20"]
    fig, ax = plt.subplots(figsize=(11, 1.5 + 0.22 * len(links)))
    for row in links.itertuples():
        start = calendar.date_of(calendar.period_of(row.formed))
        stop = calendar.date_of(calendar.period_of(row.ended)) if row.ended else end_year
        colour = colours(materials.index(row.material) % colours.N)
        ax.barh(row.Index, max(stop - start, 1 / 12), left=start, color=colour, height=0.7,
                hatch="//" if not row.delivering_from else None)
        if row.end_reason:
            ax.annotate(row.end_reason, (stop, row.Index), fontsize=6, xytext=(3, -2), textcoords="offset points")
    ax.set_yticks(range(len(links)), [f"{r.supplier} -> {r.receiver}" for r in links.itertuples()], fontsize=7)
    ax.invert_yaxis()
    handles = [Patch(color=colours(i % colours.N), label=m) for i, m in enumerate(materials)]
    ax.legend(handles=handles, fontsize=7, title="material", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xlim(calendar.date_of(0), end_year + 6)  # room for the end reasons
    ax.set_xlabel("year")
    ax.set_title(f"{model.config.name}: links from first delivery to end (hatched: pipeline never finished)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def benefits_figure(model, yearly):
    """Yearly benefits of the exchanges: CO2, water, materials, money."""
    panels = (
        ("CO2 avoided (kt)", [("co2_avoided_t", "CO2 avoided", 1e-3)]),
        ("energy exchanged (GWh)", [("energy_exchanged_mwh", "heat, steam and fuel gas", 1e-3)]),
        ("water saved (million m3)", [("water_saved_m3", "water replaced by exchanges", 1e-6)]),
        ("materials (kt)", [("virgin_materials_saved_t", "virgin materials saved", 1e-3),
                            ("waste_diverted_t", "waste diverted", 1e-3)]),
        ("money (million EUR)", [("firms_savings_eur", "firms' savings", 1e-6),
                                 ("government_net_fiscal_effect_eur", "government's net fiscal effect (+ = the state gains)", 1e-6)]),
        ("links", [("active_links_end_of_year", "active at the year's end", 1.0)]),
    )
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), sharex=True)
    for ax, (title, series) in zip(axes.flat, panels):
        for column, label, scale in series:
            ax.plot(yearly["year"], yearly[column] * scale, label=label, drawstyle="steps-mid")
        ax.set_title(title, fontsize=10)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("year")
    fig.suptitle(f"{model.config.name}: yearly benefits of the exchanges")
    fig.tight_layout()
    return fig
