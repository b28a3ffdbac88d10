"""``comparison.md``: a comparison told to a policy maker in one page of Markdown.

What was compared (the scenario, the packages and what they set, replicates and
seeds), each package's effects against the baseline in words and in a table,
the government's cost per extra tonne where the tonnes are clear enough to
quote one, and the caveats. Every number comes from the comparison table
(:func:`simulation.experiment.compare.comparison_table`), so the brief and
``comparison.csv`` never disagree.
"""

import os
from pathlib import Path

import numpy as np

from simulation.experiment.compare import BASELINE, PRINTED, cell, regimes, short_number

ODD = Path(__file__).resolve().parents[2] / "docs" / "odd.md"
# The effects told in words: quantity -> (what grows, what shrinks, unit)
WORDS = {
    "extra_waste_diverted_t": ("diverts {} more waste", "diverts {} less waste", "t"),
    "extra_co2_avoided_t": ("avoids {} more CO2", "avoids {} less CO2", "t"),
    "extra_government_revenue_eur": ("leaves the state {} better off (its net revenue: taxes collected minus subsidies paid)",
                                     "costs the state {} (its net revenue: taxes collected minus subsidies paid)", "EUR"),
}


def comparison_brief(table, runs, baseline, packages, seed, folder):
    """The brief's Markdown text."""
    done = runs[runs["status"] == "done"]
    replicates = int(runs["replicate"].max()) + 1
    sections = [
        f"# {baseline.name}: policy packages against the baseline\n",
        _what(baseline, packages, replicates, seed, runs, done),
        "## Effects against the baseline\n",
        "Each effect is the package's run minus the baseline's run on the same seed, averaged over the replicates, "
        "with its 95% confidence interval; totals over the whole run, not discounted.\n",
        *(_in_words(table, name) for name in packages),
        _effects_table(table, packages),
        _caveats(replicates, len(done), len(runs), folder),
    ]
    return "\n".join(sections)


def _what(baseline, packages, replicates, seed, runs, done):
    seeds = list(dict.fromkeys(runs.sort_values("replicate")["seed"]))
    shown = ", ".join(str(s) for s in seeds[:5]) + (f", ... ({len(seeds)} in all)" if len(seeds) > 5 else "")
    lines = [
        "## What was compared\n",
        f"- Scenario: `{baseline.name}` ({baseline.path}, SHA-256 `{baseline.content_hash[:12]}`), "
        f"{baseline.spec.scenario.years:g} years from {baseline.calendar.label(0)}.",
        f"- {replicates} replicates per package ({len(done)} of {len(runs)} runs finished); master seed {seed}. "
        f"Replicate r of every package runs on the same seed (common random numbers): {shown}.",
        "",
        "| package | what it sets |",
        "|---|---|",
        f"| {BASELINE} | the scenario as it is |",
        *(f"| {name} | {'; '.join(f'`{path} = {value}`' for path, value in overrides.items())} |"
          for name, overrides in packages.items()),
        "",
    ]
    return "\n".join(lines)


def _rows(table, package):
    return {r.quantity: r for r in table[table["package"] == package].itertuples()}


def _in_words(table, package):
    rows = _rows(table, package)
    said = [_effect(rows[q]) for q in WORDS if q in rows]
    ratio = rows.get("government_cost_per_t_co2_avoided_eur")
    if ratio is not None:
        said.append(_cost_per_tonne(ratio))
    said.append(f"its networks ended: {regimes(table, package)} runs")
    return f"- **{package}** " + "; ".join(said) + ".\n"


def _effect(row):
    grows, shrinks, unit = WORDS[row.quantity]
    if np.isnan(row.estimate):
        return f"{grows.format('?')} (no finished pair of runs)"
    text = (grows if row.estimate >= 0 else shrinks).format(f"{short_number(abs(row.estimate))} {unit}")
    change = f"change {short_number(row.estimate, True)} {unit}"
    if np.isnan(row.ci_low):
        return f"{text} ({change}; one replicate: no interval)"
    clear = row.ci_low > 0 or row.ci_high < 0
    interval = f"{change}, 95% CI {short_number(row.ci_low, True)} to {short_number(row.ci_high, True)} {unit}"
    return text + (f" ({interval})" if clear else f" ({interval}: not distinguishable from no change)")


def _cost_per_tonne(row):
    if not row.estimable:
        return ("the cost to the state per extra tonne of CO2 avoided is not estimable (the extra CO2's interval "
                "contains zero)")
    low, high = row.ci_low, row.ci_high
    bounds = "" if np.isnan(low) else f", 95% CI {short_number(low, True)} to {short_number(high, True)} EUR/t"
    what = "costs the state" if row.estimate >= 0 else "earns the state"
    return f"each extra tonne of CO2 avoided {what} {short_number(abs(row.estimate))} EUR{bounds}"


def _effects_table(table, packages):
    header = ["package", *PRINTED.values(), "regimes (runs)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for package in packages:
        rows = _rows(table, package)
        lines.append("| " + " | ".join([package, *(cell(rows[q]) for q in PRINTED), regimes(table, package)]) + " |")
    return "\n".join(["", *lines, "",
                      "Numbers are package minus baseline with their 95% confidence intervals; state net revenue is taxes "
                      "collected minus subsidies paid (+ = the state gains); the state's cost per t CO2 is its lost net "
                      "revenue per extra tonne avoided (+ = the state pays). Every quantity, totals included, is in "
                      "`comparison.csv`.", ""])


def _caveats(replicates, finished, planned, folder):
    odd = os.path.relpath(ODD, Path(folder).resolve()) if ODD.exists() else "docs/odd.md"
    few = (f"Only {replicates} replicates: the intervals are wide, and an effect whose interval contains zero may "
           f"still exist; more replicates (`--replicates`) narrow them and reuse the runs made so far."
           if replicates < 10 else f"{replicates} replicates per package; more narrow the intervals further.")
    lines = [
        "## Caveats\n",
        f"- {few}",
        f"- {finished} of {planned} runs finished; only those count." if finished < planned else
        "- Every planned run finished.",
        "- These are the model's effects on one stylised park, not forecasts: product demand is exogenous, the "
        "government's budget is unconstrained, distances are straight lines, and prices and costs come from the "
        "scenario's catalogue. See the model's description and its simplifications in "
        f"[docs/odd.md]({odd}#simplifications).",
        "- Totals are summed over the run's months and not discounted; the cost per tonne counts the state's revenue "
        "only, not the firms' savings or costs.",
        "",
    ]
    return "\n".join(lines)
