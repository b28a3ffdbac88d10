"""Figures of a run: the network at the end (and in chosen years), the time series, the yearly benefits, the links' timeline.

Library code: it draws with whatever matplotlib backend is in use and never
picks one (the CLI picks a file-only one, a notebook keeps its inline one), so
each ``*_figure`` function returns a Figure a notebook displays and
:func:`figure_files` saves. Materials have the colours of
:mod:`simulation.output.palette` in every figure; time axes are dates.

Figures are laid out with fixed margins (no tight or constrained layout, which
lay the text out once more before drawing it): that and drawing edges as
collections keep the figures of a run about as fast as the run itself.
"""

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from simulation.model.contract import ACTIVE
from simulation.model.firm import EXIT_REASONS
from simulation.output.network_drawing import (
    draw_edges,
    draw_labels,
    fit_limits,
    width_key,
    width_scales,
    widths,
)
from simulation.output.palette import FAMILY_OF_UNIT, material_colour
from simulation.output.tables import formed

# Least zlib effort: encoding at the default level took a quarter of the drawing time, for files a third smaller.
PNG = { "dpi": 120, "metadata": {"Software": None}, "pil_kwargs": {"compress_level": 1}}
TIMELINE_UP_TO = 150  # links; a longer timeline is unreadable and is not drawn
LABELS_UP_TO = 40  # firms on a map; more are drawn unlabelled


def figure_files(model, links=None, yearly=None):
    """``(file name, draw(path))`` for each figure of a run, in the order they are written.

    Which figures there are depends on the run alone; ``links`` and ``yearly``
    (report.link_table, report.yearly_table) are needed only to draw them.
    """
    files = [("network.png", _saved(lambda: network_figure(model))),
             ("timeseries.png", _saved(lambda: timeseries_figure(model)))]
    first, last = (int(model.calendar.label(t)[:4]) for t in (0, model.period - 1))
    if last > first:  # the yearly table has more than one row
        files.append(("benefits.png", _saved(lambda: benefits_figure(model, yearly))))
    if 0 < model.contracts.n_links <= TIMELINE_UP_TO:  # the link table has a row per link
        files.append(("timeline.png", _saved(lambda: timeline_figure(model, links, _history(model)))))
    for year, period in network_years(model):
        files.append((f"network_{year}.png", _saved(lambda period=period: network_at(model, period))))
    return files


def _saved(make):
    def draw(target):
        figure = make()
        figure.savefig(target, **PNG)
        plt.close(figure)
    return draw


def count_figures(model):
    """How many figures :func:`figure_files` gives for a finished run, without building its tables."""
    return len(figure_files(model))


def _history(model):
    """The recorded exchanges of the run's scenario, when it has a history file (else None)."""
    from simulation.output.validation import history_file, load_record

    path = history_file(model.config)
    return load_record(path) if path else None


# -- time ---------------------------------------------------------------------------------------


def month_dates(calendar, periods):
    """The first day of each period, as numpy dates (matplotlib draws them on a date axis)."""
    start = np.datetime64(f"{calendar.start_year:04d}-{calendar.start_month:02d}", "M")
    months = start + np.asarray(periods, np.int64) * calendar.months_per_period
    return months.astype("datetime64[D]")


def year_dates(years):
    """1 January of each year, as numpy dates."""
    return np.array([f"{int(y):04d}-01-01" for y in years], "datetime64[D]")


def date_axis(ax, label="year"):
    """Dates on the x axis: a few round ticks whose labels never crowd (years, or months in a short run)."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    if label:
        ax.set_xlabel(label)


# -- the network --------------------------------------------------------------------------------


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
NODE_COLOUR = "0.3"


def network_figure(model, contracts=None, title=None, flows=None, present=None):
    """Firms at their locations (km); links as arrows from supplier to receiver, coloured by material.

    A link's width is its monthly flow on its unit's scale (t, MWh and m3 each
    have their own, shown in the legend); links both ways between two firms
    curve apart. By default: the firms and contracts active at the end, with
    their promised monthly quantities.
    """
    book = model.contracts
    contracts = book.where(ACTIVE) if contracts is None else contracts
    present = np.flatnonzero(model.firms.active) if present is None else present
    flows = book.quantity[contracts] if flows is None else np.asarray(flows, float)
    waste = book.waste[contracts]
    units = np.array([model.materials.unit[w] for w in waste.tolist()], dtype=object).astype(str)
    scales = width_scales(flows, units)
    edges = (book.supplier[contracts], book.receiver[contracts], [_colour(model, w) for w in waste.tolist()],
             widths(flows, units, scales))
    core = _core(model, present)
    fig = plt.figure(figsize=(15.5, 7.6) if core is not None else (11, 7.6))
    if core is None:
        ax = fig.add_axes((0.06, 0.08, 0.62, 0.84))
        _draw_network(model, ax, present, edges, labelled=present if len(present) <= LABELS_UP_TO else present[:0])
        ax.set_title(title or _end_title(model))
    else:
        ax, zoom = fig.add_axes((0.045, 0.08, 0.35, 0.82)), fig.add_axes((0.445, 0.08, 0.35, 0.82))
        _draw_network(model, zoom, core, edges, labelled=core, window=_core_window(model, core))
        x0, x1, y0, y1 = *zoom.get_xlim(), *zoom.get_ylim()
        outside = np.setdiff1d(present, core)
        _draw_network(model, ax, present, edges, labelled=outside if len(outside) <= LABELS_UP_TO else outside[:0])
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls="--", lw=0.8, ec="0.4", zorder=5))
        ax.annotate("the core (right)", (x0, y0), xytext=(0, -3), textcoords="offset points", fontsize=7, color="0.3",
                    va="top")
        zoom.set_title(f"the core, {x1 - x0:.0f} km across", fontsize=10)
        fig.suptitle(title or _end_title(model))
    _network_legends(model, ax if core is None else zoom, waste, scales)
    return fig


def _end_title(model):
    return f"{model.config.name}: exchanges active in {model.calendar.label(max(model.period - 1, 0))}"


def _colour(model, material):
    return material_colour(model.materials.ids[material], model.materials.unit[material])


def _draw_network(model, ax, present, edges, labelled, window=None):
    """Firms ``present`` and the edges among them on ``ax`` (limits fit to them, or to ``window``)."""
    f = model.firms
    if window is None:
        fit_limits(ax, f.x[present], f.y[present])
    else:
        fit_limits(ax, *window, margin=0, pad=0)
    size = _marker_size(len(present))
    radius = np.sqrt(size) / 2  # points
    ax.scatter(f.x[present], f.y[present], s=size, c=NODE_COLOUR, zorder=3, linewidths=0)
    a, b, colours, line_widths = edges
    draw_edges(ax, np.column_stack([f.x[a], f.y[a]]), np.column_stack([f.x[b], f.y[b]]), colours, line_widths, radius)
    draw_labels(ax, f.x[labelled], f.y[labelled], [model.firm_ids[i] for i in labelled.tolist()], 8, radius)
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")


def _network_legends(model, ax, waste, scales):
    """Materials (colour) and the width key per unit, to the right of ``ax``."""
    materials = sorted(set(waste.tolist()), key=lambda m: (_family_rank(model.materials.unit[m]), model.materials.ids[m]))
    handles = [Line2D([], [], color=_colour(model, m), lw=4, label=f"{model.materials.ids[m]} ({model.materials.unit[m]})")
               for m in materials]
    if handles:
        colour_legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                                  title="material (unit)", title_fontsize=7, ncols=2 if len(handles) > 24 else 1,
                                  frameon=False)
        ax.add_artist(colour_legend)
        ax.legend(handles=width_key(scales), loc="lower left", bbox_to_anchor=(1.02, 0.0), fontsize=7,
                  title="width: flow a month", title_fontsize=7, frameon=False)


def _family_rank(unit):
    families = list(FAMILY_OF_UNIT)
    return families.index(unit) if unit in families else len(families)


def _core(model, present):
    """Firms within CORE_KM of the median firm, when the whole map is over four times wider; else None."""
    if len(present) < 3 or len(present) > LABELS_UP_TO:
        return None
    x, y = model.firms.x[present], model.firms.y[present]
    near = np.hypot(x - np.median(x), y - np.median(y)) <= CORE_KM
    extent = max(np.ptp(x), np.ptp(y))
    if near.sum() < 3 or near.all() or extent < 4 * CORE_KM:
        return None
    return present[near]


def _core_window(model, core):
    """(x, y) corners of the core panel: the core's firms with half a km around them."""
    x, y = model.firms.x[core], model.firms.y[core]
    return np.array([x.min() - 0.5, x.max() + 0.5]), np.array([y.min() - 0.5, y.max() + 0.5])


def _marker_size(n):
    return float(np.clip(4000 / max(n, 1), 2, 60))


# -- time series --------------------------------------------------------------------------------


def timeseries_figure(model):
    """The network over time: links, firms, the network's size and flow, waste fates; firms that left marked."""
    frame = model.datacollector.get_model_vars_dataframe()
    dates = month_dates(model.calendar, range(len(frame)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7.5), sharex=True)
    fig.subplots_adjust(left=0.1, right=0.9, top=0.94, bottom=0.08, hspace=0.08)
    top.plot(dates, frame["active_links"], label="active links")
    top.plot(dates, frame["firms_linked"], label="firms linked")
    top.plot(dates, frame["network_firms"], label="firms in the network (largest group delivering)", ls="-.")
    top.plot(dates, frame["pending_links"], label="links awaiting pipelines", ls=":")
    top.set_ylabel("links or firms (count)")
    top.set_ylim(bottom=0)
    flow = top.twinx()
    flow.plot(dates, frame["network_flow_eur"] / 1e3, color="0.5", lw=0.8, label="network flow (right axis)")
    flow.set_ylabel("network flow (k EUR/month, catalogue prices)")
    flow.set_ylim(bottom=0)
    lines = top.get_legend_handles_labels()[0] + flow.get_legend_handles_labels()[0]
    top.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="upper left", ncols=2)
    top.set_title(f"{model.config.name}: symbiosis network over time")
    _mark_departures(model, top)
    bottom.plot(dates, frame["waste_exchanged_t"] + frame["waste_reused_t"], label="exchanged + reused")
    bottom.plot(dates, frame["waste_landfilled_t"], label="landfilled")
    bottom.plot(dates, frame["waste_disposed_t"], label="disposed, all routes", ls="--")
    bottom.set_ylabel("waste (t/month)")
    bottom.set_ylim(bottom=0)
    bottom.legend(fontsize=8, loc="upper left", ncols=3)
    date_axis(bottom)
    return fig


def _mark_departures(model, ax):
    """A dotted line in each month firms left, labelled with the firms and why (the first dozen months)."""
    f = model.firms
    by_month = {}
    for i in np.flatnonzero(f.left >= 0).tolist():
        by_month.setdefault(int(f.left[i]), {}).setdefault(EXIT_REASONS[f.exit_reason[i]], []).append(f.ids[i])
    months = sorted(by_month)[:12]
    for period, date in zip(months, month_dates(model.calendar, months)):
        ax.axvline(date, color="0.3", ls=":", lw=0.8)
        text = "; ".join(f"{', '.join(firms)}: {why}" for why, firms in by_month[period].items())
        ax.annotate(text, (date, 0.02), xycoords=("data", "axes fraction"), fontsize=6, rotation=90,
                    ha="right", va="bottom", xytext=(-1, 0), textcoords="offset points")


# -- the links' timeline -----------------------------------------------------------------------


def timeline_figure(model, links, record=None):
    """One row per link (material, supplier, receiver): a bar from first delivery to end, coloured by material.

    A link signed again after it ended is drawn on its row as a bar per
    period it ran. ``record`` (:func:`simulation.output.validation.load_record`),
    if given, adds the recorded exchanges as black lines beneath the simulated
    bars, and rows for those that never formed in the run.
    """
    calendar = model.calendar
    rows = timeline_rows(links)
    recorded = _recorded_rows(rows, record) if record else []
    labels = [f"{r['supplier']} \u2192 {r['receiver']}: {r['material']}" for r in rows]
    labels += [f"{e['supplier']} \u2192 {'/'.join(e['receiver'])}: {'/'.join(e['material'])} (recorded only)"
               for e, row in recorded if row is None]
    height = 1.3 + 0.2 * len(labels)
    fig = plt.figure(figsize=(12, height))
    fig.add_axes((0.3, 0.7 / height, 0.52, 1 - 1.15 / height))
    ax = fig.axes[0]
    end = mdates.date2num(month_dates(calendar, [model.period])[0])
    segments = [(i, s) for i, row in enumerate(rows) for s in row["spans"]]
    starts = mdates.date2num(month_dates(calendar, [calendar.period_of(s["from"]) for _, s in segments]))
    stops = np.array([mdates.date2num(month_dates(calendar, [calendar.period_of(s["to"])])[0]) if s["to"] else end
                      for _, s in segments])
    ys = np.array([i for i, _ in segments])
    colours = [material_colour(rows[i]["material"], rows[i]["unit"]) for i, _ in segments]
    delivered = np.array([bool(s["delivered"]) for _, s in segments])
    _bars(ax, ys, starts, np.maximum(stops - starts, 28), colours, delivered)
    _end_reasons(ax, rows, stops, segments)
    if record:
        _draw_record(ax, recorded, len(rows), end)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylim(len(labels) - 0.4, -0.6)
    first = mdates.date2num(month_dates(calendar, [0])[0])
    ax.set_xlim(first, end + 0.12 * (end - first))  # room for the end reasons
    date_axis(ax)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{model.config.name}: links from first delivery to end", fontsize=10)
    _timeline_legend(ax, rows, record, hatched=not delivered.all())
    return fig


def _bars(ax, ys, starts, lengths, colours, delivered):
    """Horizontal bars, 0.62 rows high; hatched where the link never delivered. Two collections rather than a
    patch per bar (``barh``), which took half of the figure's time; the axes' limits are set by the caller."""
    corners = np.array([[0, -0.31], [0, 0.31], [1, 0.31], [1, -0.31]])
    boxes = np.stack([np.column_stack([start + corners[:, 0] * length, y + corners[:, 1]])
                      for y, start, length in zip(ys, starts, lengths)]) if len(ys) else np.zeros((0, 4, 2))
    colours = np.array(colours, dtype=object)
    for plain in (True, False):
        chosen = delivered == plain
        if chosen.any():
            ax.add_collection(PolyCollection(boxes[chosen], facecolors=list(colours[chosen]),
                                             edgecolors="none" if plain else "0.2", linewidths=0 if plain else 0.4,
                                             hatch=None if plain else "////"))


def timeline_rows(links):
    """The link table as rows (material, supplier, receiver), oldest first, each with its spans: from, to, delivered, why."""
    links = links.assign(formed=formed(links)).sort_values(["formed", "link"])
    rows = {}
    for link in links.itertuples():
        row = rows.setdefault((link.material, link.supplier, link.receiver),
                              {"material": link.material, "supplier": link.supplier, "receiver": link.receiver,
                               "unit": link.unit, "spans": []})
        row["spans"].append({"from": link.formed, "to": link.ended, "delivered": link.delivering_from,
                             "why": link.end_reason})
    return list(rows.values())


def _end_reasons(ax, rows, stops, segments):
    """Each ended span's reason after its bar, where the row has room before its next span."""
    for (i, span), stop, following in zip(segments, stops, [*segments[1:], (None, None)]):
        if not span["why"]:
            continue
        next_start = following[1]["from"] if following[0] == i else None
        if next_start is None or int(next_start[:4]) - int(span["to"][:4]) >= 9:
            ax.annotate(span["why"], (stop, i), fontsize=6, xytext=(3, 0), textcoords="offset points", va="center")


def _recorded_rows(rows, record):
    """(recorded exchange, index of the first simulated row that realises it or None) for each exchange."""
    found = []
    for exchange in record:
        matching = [i for i, r in enumerate(rows) if r["material"] in exchange["material"]
                    and r["supplier"] == exchange["supplier"] and r["receiver"] in exchange["receiver"]]
        found.append((exchange, matching or None))
    return found


def _draw_record(ax, recorded, n_rows, end):
    """The recorded exchanges as black lines just below their simulated rows (or on rows of their own)."""
    extra = n_rows
    lines = []
    for exchange, matching in recorded:
        start = mdates.date2num(year_dates([exchange["start"]])[0])
        stop = mdates.date2num(year_dates([exchange["end"]])[0]) if exchange.get("end") else end
        if matching is None:
            lines.append((extra, start, stop))
            extra += 1
        else:
            lines += [(i + 0.38, start, stop) for i in matching]
    y, start, stop = np.array(lines).T
    ax.hlines(y, start, stop, colors="k", linewidth=1.6, zorder=4)
    ax.plot(start, y, "k|", ms=6, zorder=4)


def _timeline_legend(ax, rows, record, hatched):
    materials = sorted({(r["material"], r["unit"]) for r in rows}, key=lambda m: (_family_rank(m[1]), m[0]))
    handles = [Patch(color=material_colour(m, u), label=f"{m} ({u})") for m, u in materials]
    if hatched:
        handles.append(Patch(facecolor="white", edgecolor="0.2", hatch="////", label="signed, pipeline never finished"))
    if record:
        handles.append(Line2D([], [], color="k", lw=1.6, marker="|", label="recorded history"))
    ax.legend(handles=handles, fontsize=7, title="material (unit)", title_fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)


# -- yearly benefits ----------------------------------------------------------------------------


BENEFITS = (
    ("CO2 avoided", "kt CO2", [("co2_avoided_t", "CO2 avoided", 1e-3)]),
    ("energy exchanged", "GWh", [("energy_exchanged_mwh", "heat, steam and fuel gas", 1e-3)]),
    ("water saved", "million m3", [("water_saved_m3", "water replaced by exchanges", 1e-6)]),
    ("materials", "kt", [("virgin_materials_saved_t", "virgin materials saved", 1e-3),
                         ("waste_diverted_t", "waste diverted", 1e-3)]),
    ("money", "million EUR", [("firms_savings_eur", "firms' savings", 1e-6),
                              ("government_net_fiscal_effect_eur", "government net fiscal effect (+ = the state gains)", 1e-6)]),
    ("links", "count", [("active_links_end_of_year", "active at the year's end", 1.0)]),
)


def benefits_figure(model, yearly):
    """Yearly benefits of the exchanges: CO2, energy, water, materials, money, links; each year a step."""
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.2), sharex=True)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.9, bottom=0.08, wspace=0.3, hspace=0.25)
    edges = year_dates([*yearly["year"], int(yearly["year"].iloc[-1]) + 1])
    for ax, (title, unit, series) in zip(axes.flat, BENEFITS):
        for column, label, scale in series:
            ax.stairs(yearly[column] * scale, edges, label=label, baseline=None, lw=1.5)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.legend(fontsize=7, loc="best")
    for ax in axes[1]:
        date_axis(ax)
    fig.suptitle(f"{model.config.name}: yearly benefits of the exchanges")
    return fig
