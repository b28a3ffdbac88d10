"""Drawing a network of firms on a map: curved edges, arrowheads, width keys and labels that do not overlap.

Geometry is computed in display pixels once an axes' position and limits are
fixed (:func:`fit_limits`), then handed to matplotlib as a few collections in
data coordinates: one LineCollection for every edge and one PolyCollection for
every arrowhead draw thousands of links in the time of a few. Only the data
coordinates are kept, so the figure can be saved at any dpi.
"""

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import TextToPath

from simulation.output.palette import FAMILY_OF_UNIT

WIDEST_PT = 6.0  # the largest flow of each unit in a figure is drawn this wide
THINNEST_PT = 0.6
BEND_PT = 9.0  # sideways bend per edge between the same two firms, at the middle of the edge (points)
MAX_BEND = 0.3  # ... and at most this share of their distance
CURVE_POINTS = 17  # points per curved edge
STRAIGHT_ABOVE = 3000  # edges: above, straight segments without arrowheads (a park of thousands of firms)


# -- flows to widths ----------------------------------------------------------------------------


def nice_ceiling(value):
    """The smallest of 1, 2, 5 x 10^k at least ``value`` (the reference flow of a width key)."""
    if value <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value * (1 - 1e-12)))


def width_scales(flows, units):
    """Per unit (t, MWh, m3): the flow drawn WIDEST_PT wide, a round number at least the unit's largest flow."""
    return {unit: nice_ceiling(max(flows[units == unit].max(), 0)) for unit in sorted(set(units.tolist()))}


def widths(flows, units, scales):
    """Line widths (points): each flow against its own unit's scale, never thinner than THINNEST_PT."""
    reference = np.array([scales[u] for u in units], float).reshape(len(units))
    return np.maximum(THINNEST_PT, WIDEST_PT * np.asarray(flows, float) / reference)


def width_key(scales):
    """Legend handles: for each unit two reference widths with their flow a month."""
    handles = []
    for unit in sorted(scales, key=lambda u: list(FAMILY_OF_UNIT).index(u) if u in FAMILY_OF_UNIT else 9):
        for share in (1.0, 0.2):
            flow = scales[unit] * share
            handles.append(Line2D([], [], color="0.35", lw=max(THINNEST_PT, WIDEST_PT * share),
                                  label=f"{flow:,.6g} {unit}/month"))
    return handles


# -- axes ---------------------------------------------------------------------------------------


def fit_limits(ax, x, y, margin=0.06, pad=0.5):
    """Equal-scale limits around the points (x, y) that fill the axes' box, set now so pixel geometry is final."""
    x0, x1 = (float(np.min(x)), float(np.max(x))) if len(x) else (0.0, 1.0)
    y0, y1 = (float(np.min(y)), float(np.max(y))) if len(y) else (0.0, 1.0)
    width, height = max(x1 - x0, 2 * pad), max(y1 - y0, 2 * pad)
    width, height = width * (1 + 2 * margin), height * (1 + 2 * margin)
    box = ax.get_window_extent()
    per_unit = min(box.width / width, box.height / height)  # pixels per km, the same on both axes
    half_x, half_y = box.width / per_unit / 2, box.height / per_unit / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax.set_xlim(cx - half_x, cx + half_x)
    ax.set_ylim(cy - half_y, cy + half_y)


def pixels_per_point(ax):
    return ax.figure.dpi / 72


# -- edges --------------------------------------------------------------------------------------


def bends(a, b):
    """How many steps of BEND_PT each edge a -> b bends sideways, to the right of its direction of travel.

    0 where two firms are joined by one edge; otherwise the k-th edge of a
    direction bends k steps, so links both ways (or several wastes one way)
    lie side by side.
    """
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if len(a) == 0:
        return np.zeros(0)
    n = int(max(a.max(), b.max())) + 1
    pair = np.minimum(a, b) * n + np.maximum(a, b)
    _, pair_of, pair_size = np.unique(pair, return_inverse=True, return_counts=True)
    directed = a * n + b
    order = np.argsort(directed, kind="stable")
    first = np.r_[True, np.diff(directed[order]) != 0]
    starts = np.flatnonzero(first)
    rank_sorted = np.arange(len(a)) - np.repeat(starts, np.diff(np.r_[starts, len(a)]))
    rank = np.empty(len(a))
    rank[order] = rank_sorted + 1
    return np.where(pair_size[pair_of] > 1, rank, 0.0)


def draw_edges(ax, start, end, colours, line_widths, node_radius_pt, zorder=2):
    """Edges from ``start`` to ``end`` (data coordinates, n x 2) as curves with arrowheads, widest first."""
    if len(start) == 0:
        return
    scale = pixels_per_point(ax)
    p0, p2 = ax.transData.transform(start), ax.transData.transform(end)
    straight = len(start) > STRAIGHT_ABOVE
    bend = np.zeros(len(start)) if straight else bends(*_firm_ids(start, end))
    order = np.argsort(-line_widths, kind="stable")  # thin edges on top of thick ones
    chord = p2 - p0
    length = np.maximum(np.hypot(*chord.T), 1e-9)
    normal = np.column_stack([chord[:, 1], -chord[:, 0]]) / length[:, None]  # to the right of travel
    offset = np.minimum(bend * BEND_PT * scale, MAX_BEND * length)  # at the curve's middle
    control = (p0 + p2) / 2 + normal * (2 * offset)[:, None]
    radius = node_radius_pt * scale
    head = (2.2 * line_widths + 5) * scale  # arrowhead length, pixels
    t_start = np.clip(radius / length, 0, 0.45)
    t_tip = np.clip(1 - radius / length, 0.55, 1)
    t_base = np.clip(t_tip - head / length, 0.5, 1) if not straight else t_tip
    steps = np.linspace(0, 1, 2 if straight else CURVE_POINTS)
    t = t_start[:, None] + (t_base - t_start)[:, None] * steps[None, :]
    curves = _bezier(p0, control, p2, t)
    inverse = ax.transData.inverted()
    data = inverse.transform(curves.reshape(-1, 2)).reshape(curves.shape)
    ax.add_collection(LineCollection(data[order], colors=np.asarray(colours, object)[order].tolist(),
                                     linewidths=line_widths[order], alpha=0.85, capstyle="butt", zorder=zorder))
    if straight:
        return
    tip, base = _bezier(p0, control, p2, t_tip[:, None])[:, 0], _bezier(p0, control, p2, t_base[:, None])[:, 0]
    along = (tip - base) / np.maximum(np.hypot(*(tip - base).T), 1e-9)[:, None]
    across = np.column_stack([-along[:, 1], along[:, 0]]) * (0.45 * head)[:, None]
    triangles = np.stack([tip, base + across, base - across], axis=1)
    heads = inverse.transform(triangles.reshape(-1, 2)).reshape(triangles.shape)
    ax.add_collection(PolyCollection(heads[order], facecolors=np.asarray(colours, object)[order].tolist(),
                                     edgecolors="none", alpha=0.95, zorder=zorder + 0.1))


def _firm_ids(start, end):
    """Integer ids of the points edges start and end at (edges between the same two points share them)."""
    points, ids = np.unique(np.vstack([start, end]), axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    return ids[: len(start)], ids[len(start):]


def _bezier(p0, p1, p2, t):
    """Points of quadratic Bezier curves (n x 2 each end) at parameters t (n x k): n x k x 2."""
    t = t[..., None]
    return (1 - t) ** 2 * p0[:, None] + 2 * (1 - t) * t * p1[:, None] + t ** 2 * p2[:, None]


# -- labels -------------------------------------------------------------------------------------


def draw_labels(ax, x, y, names, fontsize, node_radius_pt, zorder=4):
    """Firm names beside their markers, pushed apart until no two overlap (nor cover a marker), with leader lines."""
    if len(names) == 0:
        return
    scale = pixels_per_point(ax)
    anchors = ax.transData.transform(np.column_stack([x, y]))
    sizes = text_sizes(names, fontsize) * scale + 2 * scale  # a little air around each
    radius = node_radius_pt * scale
    bounds = _box(ax)
    offset = sizes[:, 0] / 2 + radius + scale
    right_fits = anchors[:, 0] + 2 * offset <= bounds[2]  # else the label goes on the node's left
    preferred = anchors + np.column_stack([np.where(right_fits, offset, -offset), np.zeros(len(names))])
    centres = repel(preferred, sizes, anchors, radius, bounds)
    inverse = ax.transData.inverted()
    positions = inverse.transform(centres)
    for (px, py), name in zip(positions, names):
        ax.text(px, py, name, fontsize=fontsize, ha="center", va="center", zorder=zorder,
                bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})
    moved = np.hypot(*(centres - preferred).T) > 0.6 * sizes[:, 1]
    if moved.any():
        ends = _nearest_on_box(anchors[moved], centres[moved], sizes[moved])
        leaders = np.stack([anchors[moved], ends], axis=1)
        ax.add_collection(LineCollection(inverse.transform(leaders.reshape(-1, 2)).reshape(leaders.shape),
                                         colors="0.45", linewidths=0.5, zorder=zorder - 0.5))


def text_sizes(names, fontsize):
    """(width, height) in points of each name at ``fontsize``, measured with the font (no renderer needed)."""
    measure = TextToPath()
    font = FontProperties(size=fontsize)
    return np.array([measure.get_text_width_height_descent(name, font, ismath=False)[:2] for name in names],
                    float).reshape(len(names), 2) * [1, 0] + [0, 1.25 * fontsize]


def repel(preferred, sizes, anchors, radius, bounds, steps=300):
    """Centres of boxes (``sizes``, w x h) near ``preferred`` such that no two overlap and none covers an anchor.

    Deterministic: each step moves every overlapping pair apart along the
    direction of least overlap by half of it, lets each box drift back towards
    its preferred place, and keeps boxes inside ``bounds`` (x0, y0, x1, y1).
    """
    centres = preferred.astype(float).copy()
    n = len(centres)
    half = sizes / 2
    tie = np.sign(np.arange(n)[:, None] - np.arange(n)[None, :])  # which way two boxes at one place part
    obstacles = np.full((n, 2), radius)
    low, high = np.asarray(bounds[:2]) + half, np.asarray(bounds[2:]) - half
    centres = np.clip(centres, low, high)
    for _ in range(steps):
        push = _pushes(centres, half, centres, half, tie) + _pushes(centres, half, anchors, obstacles, tie, fixed=True)
        if not push.any():
            break
        centres = np.clip(centres + push + 0.02 * (preferred - centres), low, high)
    return centres


def _pushes(centres, half, others, other_half, tie, fixed=False):
    """How far to move each box out of the boxes ``others`` it overlaps, along the axis of least overlap.

    Two labels each move half the overlap (``tie`` parts two at one place);
    a label leaves a ``fixed`` box (a marker) by the whole of it.
    """
    delta = centres[:, None, :] - others[None, :, :]
    overlap = half[:, None, :] + other_half[None, :, :] - np.abs(delta)
    hit = (overlap > 0).all(axis=2)
    if not fixed:
        np.fill_diagonal(hit, False)
    up = np.where(delta[:, :, 1] != 0, np.sign(delta[:, :, 1]), tie if not fixed else 1)
    right = np.where(delta[:, :, 0] != 0, np.sign(delta[:, :, 0]), 1)
    vertical = overlap[:, :, 1] <= overlap[:, :, 0]  # labels are wide: part them up and down when that is shorter
    move = np.stack([np.where(hit & ~vertical, right * overlap[:, :, 0], 0),
                     np.where(hit & vertical, up * overlap[:, :, 1], 0)], axis=2)
    return move.sum(axis=1) * (1.0 if fixed else 0.5)


def _nearest_on_box(points, centres, sizes):
    """The point of each box (centre, w x h) nearest to each point: where a leader line meets its label."""
    return np.clip(points, centres - sizes / 2, centres + sizes / 2)


def _box(ax):
    box = ax.get_window_extent()
    return box.x0, box.y0, box.x1, box.y1
