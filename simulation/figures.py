"""Figures of a run, as PNG files: the network at the end and the time series."""

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
import numpy as np  # noqa: E402

from simulation.contract import ACTIVE  # noqa: E402

PNG = {"dpi": 120, "metadata": {"Software": None}}
ARROWS_UP_TO = 300  # links drawn as arrows; more are drawn as plain segments


def draw_all(model, folder):
    network_figure(model).savefig(folder / "network.png", **PNG)
    timeseries_figure(model).savefig(folder / "timeseries.png", **PNG)
    plt.close("all")


def network_figure(model, contracts=None, title=None):
    """Firms at their locations (km); edges coloured by material, width by monthly flow."""
    book = model.contracts
    contracts = book.where(ACTIVE) if contracts is None else contracts
    fig, ax = plt.subplots(figsize=(8, 7))
    present = np.flatnonzero(model.active)
    ax.scatter(model.x[present], model.y[present], s=_marker_size(len(present)), c="0.35", zorder=3)
    if len(present) <= 40:
        for i in present.tolist():
            ax.annotate(model.firm_ids[i], (model.x[i], model.y[i]), fontsize=8, xytext=(4, 4), textcoords="offset points")
    wastes = sorted({int(w) for w in book.waste[contracts]})
    colours = plt.colormaps["tab10"] if len(wastes) <= 10 else plt.colormaps["tab20"]
    flows = book.quantity[contracts]
    widest = flows.max() if len(flows) else 1.0
    a, b = book.supplier[contracts], book.receiver[contracts]
    colour = [colours(wastes.index(int(w)) % colours.N) for w in book.waste[contracts]]
    width = 0.8 + 4.0 * flows / widest
    if len(contracts) <= ARROWS_UP_TO:
        for i in range(len(contracts)):
            ax.annotate("", xy=(model.x[b[i]], model.y[b[i]]), xytext=(model.x[a[i]], model.y[a[i]]),
                        arrowprops={"arrowstyle": "-|>", "color": colour[i], "lw": width[i], "alpha": 0.8})
    else:  # thousands of arrows would take minutes to draw; plain segments do not
        segments = np.stack([np.column_stack([model.x[a], model.y[a]]), np.column_stack([model.x[b], model.y[b]])], axis=1)
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=width / 4, alpha=0.5))
    for i, w in enumerate(wastes):
        ax.plot([], [], color=colours(i % colours.N), lw=3, label=f"{model.materials.ids[w]} ({model.materials.unit[w]})")
    if wastes:
        ax.legend(loc="best", fontsize=8, title="material (width: monthly flow)")
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title or f"{model.config.name}: exchanges active in {model.calendar.label(max(model.period - 1, 0))}")
    fig.tight_layout()
    return fig


def _marker_size(n):
    return float(np.clip(4000 / max(n, 1), 2, 60))


def timeseries_figure(model):
    frame = model.datacollector.get_model_vars_dataframe()
    years = [model.calendar.date_of(t) for t in range(len(frame))]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    top.plot(years, frame["active_links"], label="active links")
    top.plot(years, frame["firms_linked"], label="firms linked")
    top.plot(years, frame["pending_links"], label="links awaiting pipelines", ls=":")
    top.set_ylabel("count")
    top.legend(fontsize=8)
    top.set_title(f"{model.config.name}: symbiosis network over time")
    bottom.plot(years, frame["waste_exchanged_t"] + frame["waste_reused_t"], label="exchanged + reused (t/month)")
    bottom.plot(years, frame["waste_landfilled_t"], label="landfilled (t/month)")
    bottom.plot(years, frame["waste_disposed_t"], label="disposed, all routes (t/month)", ls="--")
    bottom.set_ylabel("t per month")
    bottom.set_xlabel("year")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    return fig
