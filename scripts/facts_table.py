"""The stylized facts' effect sizes as a Markdown table, from the summaries ``make test-facts`` writes.

    .venv/bin/python scripts/facts_table.py results/facts/seeds_*.jsonl

One row per claim, one column per seed set: the mean paired difference with its 95%
t confidence interval and the paired t test's p value (``tests/paired.py``).
"""

import json
import sys


def cell(effect):
    mark = "" if effect["low"] > 0 or effect["high"] < 0 else " (n.s.)"
    return f"{effect['mean']:+.3g} [{effect['low']:+.3g}, {effect['high']:+.3g}], p = {effect['p']:.2g}{mark}"


def main(paths):
    table, sets = {}, []
    for path in paths:
        with open(path) as lines:
            for line in lines:
                effect = json.loads(line)
                if effect["seeds"] not in sets:
                    sets.append(effect["seeds"])
                table.setdefault(effect["claim"], {})[effect["seeds"]] = effect
    print("| claim (paired difference) | " + " | ".join(f"seeds {s}" for s in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for claim, by_set in table.items():
        print(f"| {claim} | " + " | ".join(cell(by_set[s]) if s in by_set else "" for s in sets) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
