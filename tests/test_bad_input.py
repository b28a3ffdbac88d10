"""Bad input ends with one clear message, an exit status, and not one file touched.

Every case works in a fresh folder holding copies of the mini park and its
catalogue (``tests/data``), a sweep file over that park, the store of a finished
sweep (``store/``) and an earlier run's results (``result/``). It breaks one
thing, runs one ``symbiosis`` command there and checks: the exit status; that
stderr is one line ``error: <file or flag>: <field>: <problem>`` with no
traceback; and that no file or folder anywhere in the working folder was
created, changed or deleted. Cases that are accepted with a warning check the
one warning line, and that the command wrote nothing but its own output folder.
"""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import tree

from simulation.cli import main
from simulation.experiment import executors
from simulation.model import workload
from simulation.output.files import MANIFEST as MANIFEST_NAME
from simulation.scenario import load

DATA = Path(__file__).parent / "data"
SCENARIO, CATALOGUE, EXTRA, SWEEP = "mini_park.toml", "mini_catalogue.toml", "extra.toml", "sweep.toml"
FAST = ("--years", "0.1", "--no-figures")  # cases that get past loading run one month
RUN = ("run", SCENARIO, *FAST, "--quiet", "--out", "out")

# Anchors in mini_park.toml: the lines that open a firm, to add a field after.
POWER = 'id = "power"\nsector = "power"\n'
CEMENT = 'id = "cement"\nsector = "cement"\n'
WITH_EXTRA = ('catalogue = ["mini_catalogue.toml"]', 'catalogue = ["mini_catalogue.toml", "extra.toml"]')
TAX = "landfill_tax_eur_per_t = 30.0"
NAME = 'name = "mini_park"'
PARK = (None, '\n[park]\nn_firms = 3\nsector_mix = { power = 1.0, cement = 1.0 }\n')
SWEEP_TEXT = """[sweep]
name = "mini"
base = "mini_park.toml"
years = 1
design = "grid"
replicates = 1
seed = 3

[parameters]
"policy.landfill_tax_eur_per_t" = [0, 80]
"""
GRID = '"policy.landfill_tax_eur_per_t" = [0, 80]'
NETWORK = '\n[[networks]]\nid = "heat_main"\nmaterials = ["surplus_heat"]\nmembers = ["power", "greenhouse"]\n'


@dataclass(frozen=True)
class Case:
    name: str
    command: tuple  # after "symbiosis", run in the case's folder
    where: str  # what the message names: a file or flag, then ": field" when there is one
    problem: str | tuple[str, ...]  # words that say what is wrong
    edits: dict = field(default_factory=dict)  # file -> ((old, new), ...); old None appends; new None deletes the file
    status: int = 2
    output: str | None = None  # the folder an accepted command writes (and nothing else)
    setup: object = None  # (folder) -> None, for what edits cannot say
    cwd: str = "."  # where the command runs, inside the case's folder


def run_case(name, file, field_name, problem, scenario=(), catalogue=(), extra=None, args=(), target=SCENARIO):
    """A ``symbiosis run`` case: edits of the scenario and catalogue, extra arguments."""
    edits = {SCENARIO: scenario, CATALOGUE: catalogue, **({EXTRA: ((None, extra),)} if extra is not None else {})}
    return Case(name, ("run", target, *FAST, *args, "--quiet", "--out", "out"),
                f"{file}: {field_name}" if field_name else file, problem, edits)




def sweep_case(name, where, problem, edits=(), args=()):
    """A ``symbiosis sweep`` case: edits of the sweep file, extra arguments."""
    return Case(name, ("sweep", SWEEP, "--workers", "1", "--quiet", *args), where, problem, {SWEEP: edits})


RUN_CASES = [
    # -- files -------------------------------------------------------------------
    run_case("missing scenario", "nosuch.toml", "", "file not found", target="nosuch.toml"),
    run_case("base scenario missing", EXTRA, "scenario.base", ("nosuch.toml", "file not found"),
             extra='[scenario]\nbase = "nosuch.toml"\nname = "child"\n', target=EXTRA),
    run_case("base scenario outside the folder", EXTRA, "scenario.base", "in it or below it",
             extra='[scenario]\nbase = "../mini_park.toml"\nname = "child"\n', target=EXTRA),
    run_case("base scenario not a file name", EXTRA, "scenario.base", "names another scenario file",
             extra='[scenario]\nbase = 5\nname = "child"\n', target=EXTRA),
    run_case("base scenarios in a circle", EXTRA, "scenario.base", "in a circle",
             extra='[scenario]\nbase = "extra.toml"\nname = "child"\n', target=EXTRA),
    run_case("missing catalogue", SCENARIO, "scenario.catalogue[0]", "nosuch_catalogue.toml not found",
         scenario=(('"mini_catalogue.toml"', '"nosuch_catalogue.toml"'),)),
    run_case("scenario TOML syntax", SCENARIO, "", ("not valid TOML", "line 9"),
         scenario=(("landfill_tax_eur_per_t = 30.0", 'landfill_tax_eur_per_t = "30.0'),)),
    run_case("catalogue TOML syntax", CATALOGUE, "", ("not valid TOML", "line 2"),
         catalogue=(("[materials.coal]", "[materials.coal"),)),
    run_case("catalogue section of wrong type", EXTRA, "substitutions", "[[substitutions]]",
         scenario=(WITH_EXTRA,), extra="substitutions = 5\n"),
    run_case("catalogue unknown section", EXTRA, "recipes", "unknown section",
         scenario=(WITH_EXTRA,), extra="[recipes.kiln]\nsector = 'cement'\n"),
    # -- firms -------------------------------------------------------------------
    run_case("unknown sector", SCENARIO, "firms[1].sector", "unknown sector 'cemnt'",
         scenario=(('sector = "cement"\nx_km', 'sector = "cemnt"\nx_km'),)),
    run_case("unknown process", SCENARIO, "firms[1].process", "unknown process 'cemnt'",
         scenario=((CEMENT, CEMENT + 'process = "cemnt"\n'),)),
    run_case("process of another sector", SCENARIO, "firms[1].process", "belongs to sector 'boards'",
         scenario=((CEMENT, CEMENT + 'process = "boards"\n'),)),
    run_case("missing required field", SCENARIO, "firms[1].x_km", "required field is missing",
         scenario=(("x_km = 2.0\n", ""),)),
    run_case("duplicate firm id", SCENARIO, "firms[2].id", "duplicate firm id 'cement'",
         scenario=(('id = "boards"', 'id = "cement"'),)),
    run_case("exit before entry", SCENARIO, "firms[1].exit", "must come after entry",
         scenario=((CEMENT, CEMENT + 'entry = "2027-01"\nexit = "2026-06"\n'),)),
    run_case("entry before the start", SCENARIO, "firms[1].entry", "before the scenario start",
         scenario=((CEMENT, CEMENT + 'entry = "2020-01"\n'),)),
    run_case("not a number", SCENARIO, "firms[0].x_km", "finite number", args=("--set", "firms.power.x_km=nan")),
    run_case("recovery the process cannot use", SCENARIO, "firms[0].recovery", "cannot reuse",
         scenario=((POWER, POWER + 'recovery = ["fly_ash"]\n'),)),
    run_case("recovery of a firm entering later", SCENARIO, "firms[0].recovery", "cannot reuse",
         scenario=((POWER, POWER + 'entry = "2025-02"\nrecovery = ["fly_ash"]\n'),), args=("--years", "0.25")),
    run_case("synthetic park with unknown sector", SCENARIO, "park.sector_mix.nosuch", "unknown sector 'nosuch'",
         scenario=((None, '\n[park]\nn_firms = 3\nsector_mix = { power = 1.0, nosuch = 1.0 }\n'),)),
    # -- catalogue entries ---------------------------------------------------------
    run_case("unknown material in a recipe", CATALOGUE, "processes.cement.inputs", "unknown material 'clinkr'",
         catalogue=(("inputs = { clinker = 0.9 }", "inputs = { clinkr = 0.9 }"),)),
    run_case("unknown material in a second catalogue file", EXTRA, "processes.kiln.outputs", "unknown material 'slag'",
         scenario=(WITH_EXTRA,),
         extra='[processes.kiln]\nsector = "cement"\nproduct = "lime"\nproduct_unit = "t"\nmargin_eur = 10.0\noutputs = { slag = 0.1 }\n'),
    run_case("unknown material in a substitution", CATALOGUE, "substitutions[0].waste", "unknown material 'fly_ahs'",
         catalogue=(('waste = "fly_ash"', 'waste = "fly_ahs"'),)),
    run_case("unknown sector barred from a substitution", CATALOGUE, "substitutions[0].barred_sectors", "unknown sector 'farma'",
         catalogue=(('waste = "fly_ash"', 'waste = "fly_ash"\nbarred_sectors = ["farma"]'),)),
    run_case("toll substitution no process converts", CATALOGUE, "substitutions[0].toll", "no process converts 'fly_ash'",
         catalogue=(('waste = "fly_ash"', 'waste = "fly_ash"\ntoll = true'),)),
    run_case("unknown material a process converts", CATALOGUE, "processes.cement.converts", "unknown material 'slagg'",
         catalogue=(("inputs = { clinker = 0.9 }", "inputs = { clinker = 0.9 }\nconverts = { slagg = 0.5 }"),)),
    run_case("unknown fuel a product displaces", CATALOGUE, "processes.cement.displaces", "unknown material 'natral_gas'",
         catalogue=(("inputs = { clinker = 0.9 }", 'inputs = { clinker = 0.9 }\ndisplaces = "natral_gas"\nfeedstock = "clinker"'),)),
    run_case("displaced fuel without a feedstock", CATALOGUE, "processes.cement", "displaces and feedstock go together",
         catalogue=(("inputs = { clinker = 0.9 }", 'inputs = { clinker = 0.9 }\ndisplaces = "coal"'),)),
    run_case("negative virgin price", CATALOGUE, "materials.fly_ash.virgin_price_eur", "greater than or equal to 0",
         catalogue=(('ewc = "10 01 02"\nvirgin_price_eur = 0.0', 'ewc = "10 01 02"\nvirgin_price_eur = -1.0'),)),
    run_case("negative gate fee", CATALOGUE, "materials.coal.gate_fee_eur", "greater than or equal to 0",
         catalogue=(("gate_fee_eur = 50.0", "gate_fee_eur = -5.0"),)),
    run_case("infinite gate fee", CATALOGUE, "materials.coal.gate_fee_eur", "finite number",
         catalogue=(("gate_fee_eur = 50.0", "gate_fee_eur = inf"),)),
    run_case("defined twice across catalogue files", EXTRA, "materials.coal", "defined twice",
         scenario=(WITH_EXTRA,), extra='[materials.coal]\nname = "Coal"\n'),
    # -- policy and parameters -----------------------------------------------------
    run_case("negative policy value", SCENARIO, "policy.landfill_tax_eur_per_t", "must not be negative",
         scenario=(("landfill_tax_eur_per_t = 30.0", "landfill_tax_eur_per_t = -30.0"),)),
    run_case("negative value in a schedule", SCENARIO, "policy.landfill_tax_eur_per_t", "must not be negative",
         scenario=(("landfill_tax_eur_per_t = 30.0", 'landfill_tax_eur_per_t = [["2025-01", 30.0], ["2027-01", -10.0]]'),)),
    run_case("share above 1", SCENARIO, "policy.facilitator_participation", "must lie in [0, 1]",
         scenario=(("landfill_tax_eur_per_t = 30.0", "landfill_tax_eur_per_t = 30.0\nfacilitator_participation = 1.5"),)),
    run_case("policy not a number", SCENARIO, "policy.landfill_tax_eur_per_t", "finite number",
         args=("--set", "policy.landfill_tax_eur_per_t=nan")),
    run_case("policy given as text", SCENARIO, "policy.landfill_tax_eur_per_t", "valid number",
         args=("--set", "policy.landfill_tax_eur_per_t=abc")),
    run_case("unknown field", SCENARIO, "policy.landfil_tax", "unknown field",
         scenario=(("landfill_tax_eur_per_t = 30.0", "landfil_tax = 30.0"),)),
    run_case("bad start date", SCENARIO, "scenario.start", "expected a date",
         scenario=(('start = "2025-01"', 'start = "2025-13"'),)),
    run_case("run shorter than a month", SCENARIO, "scenario.years", "shorter than one period", args=("--years", "0.01")),
    # -- events --------------------------------------------------------------------
    run_case("event for unknown firm", SCENARIO, "events[0].firm", "unknown firm 'powr'",
         scenario=(('firm = "power"', 'firm = "powr"'),)),
    run_case("event setting unknown material", SCENARIO, "events[1].set.materials.unobtainium.virgin_price_eur",
         "unknown material 'unobtainium'",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "materials.unobtainium.virgin_price_eur" = 10.0 }\n'),)),
    run_case("event setting an unknown firm's capacity", SCENARIO, "events[1].set.firms.nobody.capacity",
         "unknown firm 'nobody'",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "firms.nobody.capacity" = 10.0 }\n'),)),
    run_case("event setting a zero capacity", SCENARIO, "events[1].set.firms.power.capacity", "capacity must be positive",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "firms.power.capacity" = 0.0 }\n'),)),
    run_case("event setting an unknown firm attribute", SCENARIO, "events[1].set.firms.power.margin",
         "events may set materials.<id>",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "firms.power.margin" = 1.0 }\n'),)),
    run_case("event with bad date", SCENARIO, "events[0].at", "expected a date",
         scenario=(('at = "2028-01"', 'at = "2028-13"'),)),
    run_case("event switching to another sector's process", SCENARIO, "events[0].switch_process",
         "belongs to sector 'cement'", scenario=(('switch_process = "power_wood"', 'switch_process = "cement"'),)),
    # -- approvals -----------------------------------------------------------------
    run_case("approval for an unknown material", SCENARIO, "approvals[0].waste", "unknown material 'fly_ahs'",
         scenario=((None, '\n[[approvals]]\nwaste = "fly_ahs"\nallowed_from = "2026-01"\n'),)),
    run_case("approval that matches no substitution", SCENARIO, "approvals[0]", "no catalogue substitution turns 'coal'",
         scenario=((None, '\n[[approvals]]\nwaste = "coal"\nallowed_from = "2026-01"\n'),)),
    run_case("approval with a bad date", SCENARIO, "approvals[0].allowed_from", "expected a date",
         scenario=((None, '\n[[approvals]]\nwaste = "fly_ash"\nallowed_from = "2026-13"\n'),)),
    # -- shared networks -------------------------------------------------------------
    run_case("network member that is no firm", SCENARIO, "networks[0].members", "unknown firm 'greenhous'",
         scenario=((None, NETWORK.replace('"greenhouse"]', '"greenhous"]')),)),
    run_case("network member listed twice", SCENARIO, "networks[0].members", "listed twice",
         scenario=((None, NETWORK.replace('"greenhouse"]', '"greenhouse", "power"]')),)),
    run_case("network carrying what cannot go by pipeline", SCENARIO, "networks[0].materials", "'fly_ash' cannot move by pipeline",
         scenario=((None, NETWORK.replace('["surplus_heat"]', '["fly_ash"]')),)),
    run_case("network carrying an unknown material", SCENARIO, "networks[0].materials", "unknown material 'steem'",
         scenario=((None, NETWORK.replace('["surplus_heat"]', '["steem"]')),)),
    run_case("two networks with one id", SCENARIO, "networks[1].id", "duplicate id 'heat_main'",
         scenario=((None, NETWORK + NETWORK),)),
    run_case("network with a negative cost", SCENARIO, "networks[0].capex_eur", "greater than or equal to 0",
         scenario=((None, NETWORK + "capex_eur = -1.0\n"),)),
    run_case("shared disposal of a waste that is sold", SCENARIO, "shared_disposal[0].materials", "'scrap' has a resale value",
         catalogue=((None, '\n[materials.scrap]\nname = "Scrap"\nkind = "solid"\nunit = "t"\nvirgin_price_eur = 0.0\n'
                           'disposal_route = "landfill"\ngate_fee_eur = 0.0\nresale_eur = 100.0\nco2_virgin_t = 0.0\n'
                           'co2_disposal_t = 0.0\ntransport = { truck = 0.1 }\nstorable = true\n'),),
         scenario=((None, '\n[[shared_disposal]]\nid = "cell"\nmaterials = ["scrap"]\nmembers = ["power", "cement"]\n'),)),
    run_case("shared disposal for an unknown firm", SCENARIO, "shared_disposal[0].members", "unknown firm 'cemnt'",
         scenario=((None, '\n[[shared_disposal]]\nid = "cell"\nmaterials = ["fly_ash"]\nmembers = ["power", "cemnt"]\n'),)),
    run_case("network with an unknown sharing rule", SCENARIO, "networks[0].sharing", ("'flow'", "'equal'"),
         scenario=((None, NETWORK + 'sharing = "by_size"\n'),)),
    run_case("heat pump with a negative electricity price", EXTRA, "heat_pump.electricity_eur_per_mwh",
         "greater than or equal to 0", scenario=(WITH_EXTRA,), extra="[heat_pump]\nelectricity_eur_per_mwh = -5.0\n"),
    # -- --set overrides -----------------------------------------------------------
    run_case("--set without =", SCENARIO, "policy.landfill_tax_eur_per_t", "PATH=VALUE",
         args=("--set", "policy.landfill_tax_eur_per_t")),
    run_case("--set unknown list id", SCENARIO, "firms.nosuch", ("no entry 'nosuch'", "power, cement, boards, greenhouse"),
         args=("--set", "firms.nosuch.capacity=1")),
    run_case("--set list index out of range", SCENARIO, "firms.9", "no entry '9'", args=("--set", "firms.9.capacity=1")),
    run_case("--set negative value", SCENARIO, "policy.landfill_tax_eur_per_t", "must not be negative",
         args=("--set", "policy.landfill_tax_eur_per_t=-5")),
    run_case("--set unknown field", SCENARIO, "search.nosuch", "unknown field", args=("--set", "search.nosuch=1")),
    run_case("--set inside a plain value", SCENARIO, "firms.power.capacity.x", "plain value",
         args=("--set", "firms.power.capacity.x=1")),
    run_case("--set wrong type", SCENARIO, "scenario.seed", "valid integer", args=("--set", "scenario.seed=abc")),
]

# -- names that are paths, values that overflow, files that climb out, true read as 1 -----------
BIG = "1e308"


def too_big(name, path, field_name, problem, scenario=()):
    """``--set PATH=1e308``: refused at validation, naming the field."""
    return run_case(name, SCENARIO, field_name, problem, scenario=scenario, args=("--set", f"{path}={BIG}"))


RUN_CASES += [
    run_case("name ..", SCENARIO, "scenario.name", "must be a name, not a path", scenario=((NAME, 'name = ".."'),)),
    run_case("name ../..", SCENARIO, "scenario.name", "got '../..'", scenario=((NAME, 'name = "../.."'),)),
    run_case("name absolute", SCENARIO, "scenario.name", "must be a name, not a path", scenario=((NAME, 'name = "/tmp/x"'),)),
    run_case("name with a slash", SCENARIO, "scenario.name", "must be a name, not a path", scenario=((NAME, 'name = "a/b"'),)),
    run_case("name hidden", SCENARIO, "scenario.name", "starting with a letter or digit", scenario=((NAME, 'name = ".x"'),)),
    run_case("name empty", SCENARIO, "scenario.name", "at least 1 character", scenario=((NAME, 'name = ""'),)),
    run_case("name by --set", SCENARIO, "scenario.name", "must be a name", args=("--set", "scenario.name=../x")),
    run_case("catalogue climbing out", SCENARIO, "scenario.catalogue[0]", "lie in it or below it",
             scenario=(('"mini_catalogue.toml"', '"../mini_catalogue.toml"'),)),
    run_case("catalogue absolute", SCENARIO, "scenario.catalogue[0]", "relative to the scenario's folder",
             scenario=(('"mini_catalogue.toml"', f'"{(DATA / CATALOGUE).as_posix()}"'),)),
    run_case("years 1e6", SCENARIO, "scenario.years", "less than or equal to 1000", args=("--years", "1e6")),
    run_case("seed too large", SCENARIO, "scenario.seed", "less than 9223372036854775808",
             args=("--seed", "99999999999999999999999")),
    run_case("a billion firms", SCENARIO, "park.n_firms", "less than or equal to 10000000",
             scenario=(PARK,), args=("--set", "park.n_firms=1000000000")),
    run_case("more firms than memory", SCENARIO, "", ("2,000,004 firms x 1 month would need about",
                                                     "of memory, more than the 4.0 GiB this machine has available"),
             scenario=(PARK,), args=("--set", "park.n_firms=2000000")),
    too_big("landfill tax 1e308", "policy.landfill_tax_eur_per_t", "policy.landfill_tax_eur_per_t", "must be at most 1e+06"),
    run_case("carbon price 1e308 in a schedule", SCENARIO, "policy.carbon_price_eur_per_t", "must be at most 1e+06",
             args=("--set", f"policy.carbon_price_eur_per_t=[[0, 10], [6, {BIG}]]")),
    run_case("capex subsidy share above 1", SCENARIO, "policy.capex_subsidy_share", "is a share and must lie in [0, 1]",
             args=("--set", "policy.capex_subsidy_share=2")),
    too_big("capacity 1e308", "firms.power.capacity", "firms[0].capacity", "less than or equal to 1000000000"),
    too_big("a firm 1e308 km away", "firms.power.x_km", "firms[0].x_km", "less than or equal to 20000"),
    too_big("search cost 1e308", "search.cost_eur", "search.cost_eur", "less than or equal to"),
    too_big("pipeline capex 1e308", "logistics.pipeline_capex_eur_per_km", "logistics.pipeline_capex_eur_per_km", "less than or equal to"),
    run_case("contract term of a billion months", SCENARIO, "contract.duration_months", "less than or equal to 1200",
             args=("--set", "contract.duration_months=1000000000")),
    too_big("price volatility 1e308", "market.price_volatility", "market.price_volatility", "less than or equal to 2"),
    too_big("repair days 1e308", "outages.mean_repair_days", "outages.mean_repair_days", "less than or equal to 3650"),
    run_case("park radius 1e308", SCENARIO, "park.radius_km", "less than or equal to 20000",
             scenario=(PARK,), args=("--set", f"park.radius_km={BIG}")),
    run_case("sector weight 1e308", SCENARIO, "park", "sector_mix weights must lie in [0, 1e9]",
             scenario=(PARK,), args=("--set", f"park.sector_mix.power={BIG}")),
    run_case("virgin price 1e308", CATALOGUE, "materials.coal.virgin_price_eur", "less than or equal to 1000000",
             catalogue=(("virgin_price_eur = 100.0", f"virgin_price_eur = {BIG}"),)),
    run_case("margin 1e308", CATALOGUE, "processes.cement.margin_eur", "less than or equal to 1000000",
             catalogue=(("margin_eur = 80.0", f"margin_eur = {BIG}"),)),
    run_case("recipe coefficient 1e308", CATALOGUE, "processes.cement.inputs", "must lie in (0, 100000]",
             catalogue=(("inputs = { clinker = 0.9 }", f"inputs = {{ clinker = {BIG} }}"),)),
    run_case("substitution ratio 1e308", CATALOGUE, "substitutions[0].ratio", "less than or equal to 100000",
             catalogue=(("ratio = 0.9", f"ratio = {BIG}"),)),
    run_case("recovery capex 1e308", CATALOGUE, "substitutions[2].recovery_capex_eur", "less than or equal to",
             catalogue=(("recovery_capex_eur = 200000.0", f"recovery_capex_eur = {BIG}"),)),
    run_case("event sets a capacity of 1e308", SCENARIO, "events[1].set.firms.power.capacity",
             "less than or equal to 1000000000",
             scenario=((None, f'\n[[events]]\nat = "2025-06"\nset = {{ "firms.power.capacity" = {BIG} }}\n'),)),
    run_case("event sets a price of 1e308", SCENARIO, "events[1].set.materials.coal.virgin_price_eur",
             "less than or equal to 1000000",
             scenario=((None, f'\n[[events]]\nat = "2025-06"\nset = {{ "materials.coal.virgin_price_eur" = {BIG} }}\n'),)),
    run_case("two values for one month", SCENARIO, "policy.landfill_tax_eur_per_t", "two values for the same period",
             scenario=((TAX, 'landfill_tax_eur_per_t = [["2025-01", 10.0], ["2026-01", 20.0], ["2026-01", 30.0]]'),)),
    run_case("a date and a period for one month", SCENARIO, "policy.landfill_tax_eur_per_t", "both fall in 2025-01",
             scenario=((TAX, 'landfill_tax_eur_per_t = [[0, 10.0], ["2025-01", 20.0]]'),)),
    run_case("capacity = true", SCENARIO, "firms[0].capacity", "true and false are not numbers",
             scenario=(("capacity = 10000.0", "capacity = true"),)),
    run_case("capacity=true by --set", SCENARIO, "firms[0].capacity", "true and false are not numbers",
             args=("--set", "firms.power.capacity=true")),
    run_case("true in a schedule", SCENARIO, "policy.landfill_tax_eur_per_t", "true or false inside",
             scenario=((TAX, "landfill_tax_eur_per_t = [[0, true]]"),)),
    run_case("entry = true", SCENARIO, "firms[0].entry", "true and false are not numbers",
             args=("--set", "firms.power.entry=true")),
    run_case("ratio = true", CATALOGUE, "substitutions[0].ratio", "true and false are not numbers", catalogue=(("ratio = 0.9", "ratio = true"),)),
    run_case("broken schedule in --set", SCENARIO, "policy.carbon_price_eur_per_t", ("is not valid TOML", "in --set"),
             args=("--set", 'policy.carbon_price_eur_per_t=[["2025", 30], ["2030", 90]')),
    run_case("NaN as text", SCENARIO, "policy.landfill_tax_eur_per_t", "must be a finite number",
             args=("--set", 'policy.landfill_tax_eur_per_t="NaN"')),
    run_case("NaN as a bare word", SCENARIO, "policy.landfill_tax_eur_per_t", "must be a finite number",
             args=("--set", "policy.landfill_tax_eur_per_t=NaN")),
    run_case("NaN as text in the catalogue", CATALOGUE, "materials.coal.gate_fee_eur", "less than or equal to 1000000",
             catalogue=(("gate_fee_eur = 50.0", 'gate_fee_eur = "NaN"'),)),
    run_case("a name ending in a newline", SCENARIO, "scenario.name", "must be a name", scenario=((NAME, 'name = "abc\\n"'),)),
    run_case("unclosed text in --set", SCENARIO, "scenario.name", "is not valid TOML", args=("--set", 'scenario.name="abc')),
]

# -- output folders: only new, empty or earlier results of this tool ---------------------------------


def _foreign(folder, name):
    def setup(root):
        (root / folder).mkdir(exist_ok=True)
        (root / folder / name).write_text("a researcher's own file")
    return setup


def _file_in_result(root):
    (root / "result" / "analysis.R").write_text("a researcher's own file")


OUT_CASES = [
    Case("--out the working folder", ("run", SCENARIO, *FAST, "--quiet", "--out", "."), ".: --out",
         "is the folder this command runs in"),
    Case("--out the working folder, empty", ("run", f"../{SCENARIO}", *FAST, "--quiet", "--out", "."), ".: --out",
         "is the folder this command runs in", setup=lambda root: (root / "empty").mkdir(), cwd="empty"),
    Case("--out a folder holding the working folder", ("run", SCENARIO, *FAST, "--quiet", "--out", ".."), "..: --out",
         "is the folder this command runs in (or holds it)"),
    Case("--out a mount point", ("run", SCENARIO, *FAST, "--quiet", "--out", "/proc"), "/proc: --out", "is a mount point"),
    Case("--out a name too long", ("run", SCENARIO, *FAST, "--quiet", "--out", "x" * 240), f"{'x' * 240}: --out",
         "the staging folder beside it needs"),
    Case("--out a name longer than the file system allows", ("run", SCENARIO, *FAST, "--quiet", "--out", f"a/{'x' * 300}/b"),
         f"a/{'x' * 300}/b: --out", "a name of 300 bytes, more than the 255"),
    Case("--out a folder that only looks like a result", ("run", SCENARIO, *FAST, "--quiet", "--out", "mine"), "mine: --out",
         "exists and holds files symbiosis did not write (metadata.json, periods.csv)",
         setup=lambda root: [(root / "mine").mkdir(), (root / "mine" / "metadata.json").write_text("{}"),
                             (root / "mine" / "periods.csv").write_text("mine")]),
    Case("--out a result with a folder named like a table", ("run", SCENARIO, *FAST, "--quiet", "--out", "result"),
         "result: --out", "exists and holds files symbiosis did not write",
         setup=lambda root: [(root / "result" / MANIFEST_NAME).unlink(), (root / "result" / "periods.csv").unlink(),
                             (root / "result" / "periods.csv").mkdir(), (root / "result" / "periods.csv" / "thesis.txt").write_text("mine")]),
    Case("--out a symbolic link to itself", ("run", SCENARIO, *FAST, "--quiet", "--out", "loop"), "loop: --out",
         "is a symbolic link to a folder that does not exist (or to itself)", setup=lambda root: (root / "loop").symlink_to("loop")),
    Case("--out a symbolic link to nothing", ("run", SCENARIO, *FAST, "--quiet", "--out", "dangling"), "dangling: --out",
         "is a symbolic link to a folder that does not exist", setup=lambda root: (root / "dangling").symlink_to("nowhere/deep")),
    Case("--out the working folder reached through a link", ("run", f"../../{SCENARIO}", *FAST, "--quiet", "--out", "../here"),
         "../here: --out", "is the folder this command runs in",
         setup=lambda root: [(root / "real" / "here").mkdir(parents=True), (root / "link").symlink_to("real")], cwd="link/here"),
    Case("--out a path too long for its staging", ("run", SCENARIO, *FAST, "--quiet", "--out", "/".join(["d" * 200] * 20)),
         f"{'/'.join(['d' * 200] * 20)}: --out", "with the files of a result in its staging folder it would pass the 4096"),
    Case("--out a folder that cannot be entered", ("run", SCENARIO, *FAST, "--quiet", "--out", "x" * 256 + "/y"),
         f"{'x' * 256}/y: --out", "cannot be used as a folder: File name too long"),
    Case("--out a folder with a manifest of someone else", ("run", SCENARIO, *FAST, "--quiet", "--out", "mine"), "mine: --out",
         "exists and holds files symbiosis did not write",
         setup=lambda root: [(root / "mine").mkdir(), (root / "mine" / MANIFEST_NAME).write_text('{"kind": ["run"]}')]),
    Case("--out a folder of other files", ("run", SCENARIO, *FAST, "--quiet", "--out", "mine"), "mine: --out",
         ("exists and holds files symbiosis did not write (analysis.R)", "choose another folder"), setup=_foreign("mine", "analysis.R")),
    Case("--out an earlier result with a file added", ("run", SCENARIO, *FAST, "--quiet", "--out", "result"), "result: --out",
         "beside its earlier result (analysis.R)", setup=_file_in_result),
    Case("--out a sweep's folder", ("run", SCENARIO, *FAST, "--quiet", "--out", "store"), "store: --out",
         "holds the results of a sweep, not of a run"),
    Case("--out below a file", ("run", SCENARIO, *FAST, "--quiet", "--out", f"{SCENARIO}/sub"), f"{SCENARIO}/sub: --out",
         "cannot be created"),
    Case("sweep --out a folder of other files", ("sweep", SWEEP, "--quiet", "--out", "mine"), "mine: --out",
         "exists and holds files symbiosis did not write", setup=_foreign("mine", "notes.txt")),
    Case("sweep --out a run's folder", ("sweep", SWEEP, "--quiet", "--out", "result"), "result: --out",
         "holds the results of a run, not of a sweep"),
    Case("sweep into an existing store without --resume", ("sweep", SWEEP, "--quiet", "--out", "store"),
         "store/results.sqlite", "add --resume"),
    Case("compare --out a folder of other files", ("compare", SCENARIO, "--policy", "t:policy.landfill_tax_eur_per_t=80",
                                                   "--quiet", "--out", "mine"),
         "mine: --out", "exists and holds files symbiosis did not write", setup=_foreign("mine", "notes.txt")),
    Case("analyze --out a folder of other files", ("analyze", "store", "--out", "mine"), "mine: --out",
         "exists and holds files symbiosis did not write", setup=_foreign("mine", "notes.txt")),
    Case("analyze over someone's analysis folder", ("analyze", "store"), "store/analysis: --out",
         "exists and holds files symbiosis did not write", setup=_foreign("store/analysis", "mine.txt")),
    Case("export --out a folder of other files", ("export", "store", "--out", "mine"), "mine: --out",
         "exists and holds files symbiosis did not write", setup=_foreign("mine", "runs.csv")),
    Case("export --out a run's folder", ("export", "store", "--out", "result"), "result: --out",
         "holds the results of a run, not of an export"),
    Case("export --out another sweep's folder", ("export", "store", "--out", "other"), "other: --out",
         "holds the results of a sweep, not of an export", setup=lambda root: shutil.copytree(root / "store", root / "other")),
]

# -- sweeps ------------------------------------------------------------------------------------------
SWEEP_CASES = [
    sweep_case("sweep named ..", f"{SWEEP}: sweep.name", "must be a name, not a path", ((('name = "mini"', 'name = ".."'),))),
    sweep_case("sweep named a/b", f"{SWEEP}: sweep.name", "must be a name, not a path", ((('name = "mini"', 'name = "a/b"'),))),
    sweep_case("a grid of 10^10 points", f"{SWEEP}: sweep", ("plans 10,000,000,000 runs", "at most 1,000,000"),
               ((GRID, '"policy.landfill_tax_eur_per_t" = { range = [0, 100], steps = 100000 }\n'
                       '"logistics.transport_cost_factor" = { range = [0.5, 2], steps = 100000 }'),)),
    sweep_case("10^9 replicates", f"{SWEEP}: sweep.replicates", "less than or equal to 1000000",
               (("replicates = 1", "replicates = 1000000000"),)),
    sweep_case("two million planned runs", f"{SWEEP}: sweep", "plans 2,000,000 runs", (("replicates = 1", "replicates = 1000000"),)),
    sweep_case("lhs of 10^9 samples", f"{SWEEP}: sweep.samples", "less than or equal to 1000000",
               (('design = "grid"', 'design = "lhs"\nsamples = 1000000000'),
                (GRID, '"policy.landfill_tax_eur_per_t" = { range = [0, 100] }'))),
    sweep_case("sobol of 2^19 samples", f"{SWEEP}: sweep", "plans 1,572,864 runs",
               (('design = "grid"', 'design = "sobol"\nsamples = 524288'),
                (GRID, '"policy.landfill_tax_eur_per_t" = { range = [0, 100] }'))),
    sweep_case("grid steps 10^9", f"{SWEEP}: parameters.policy.landfill_tax_eur_per_t.steps", "less than or equal to 1000000",
               ((GRID, '"policy.landfill_tax_eur_per_t" = { range = [0, 100], steps = 1000000000 }'),)),
    sweep_case("a swept value of 1e308", f"{SWEEP}: parameters.policy.landfill_tax_eur_per_t", "must be at most 1e+06",
               ((GRID, f'"policy.landfill_tax_eur_per_t" = [0, {BIG}]'),)),
    sweep_case("a swept true", f"{SWEEP}: parameters.policy.landfill_tax_eur_per_t", "true and false are not numbers",
               ((GRID, '"policy.landfill_tax_eur_per_t" = [0, true]'),)),
    sweep_case("a store larger than the disk", "big/results.sqlite", ("would write about", "to its store, more than"),
               (("replicates = 1", "replicates = 500000\nkeep_series = true"), ("years = 1", "years = 1000")),
               args=("--out", "big")),
    sweep_case("dask address garbage", "<command line>: --dask", "cannot reach the Dask scheduler at garbage",
               args=("--dask", "garbage")),
    sweep_case("dask scheduler unreachable", "<command line>: --dask", "cannot reach the Dask scheduler at tcp://127.0.0.1:9",
               args=("--dask", "tcp://127.0.0.1:9")),
    sweep_case("sweep base climbing to a catalogue outside", f"{SWEEP}: parameters.scenario.catalogue",
               "lie in it or below it", ((GRID, '"scenario.catalogue" = [["../mini_catalogue.toml"]]'),)),
]

# -- comparisons -------------------------------------------------------------------------------------
COMPARE = ("compare", SCENARIO, "--replicates", "2", "--years", "0.5", "--quiet", "--out", "cmp")
COMPARE_CASES = [
    Case("broken schedule in --policy", (*COMPARE, "--policy", "t:policy.carbon_price_eur_per_t=[[0, 30], [6, 90]"),
         "--policy 't:policy.carbon_price_eur_per_t=[[0, 30], [6, 90]': policy.carbon_price_eur_per_t", "is not valid TOML"),
    Case("a package of 1e308", (*COMPARE, "--policy", f"t:policy.landfill_tax_eur_per_t={BIG}"),
         "policy package 't': policy.landfill_tax_eur_per_t", "must be at most 1e+06"),
    Case("a package named ..", (*COMPARE, "--policy", "..:policy.landfill_tax_eur_per_t=1"),
         "--policy '..:policy.landfill_tax_eur_per_t=1'", "must be letters, digits"),
    Case("a scenario named ..", (*COMPARE, "--policy", "t:policy.landfill_tax_eur_per_t=1"), f"{SCENARIO}: scenario.name",
         "must be a name, not a path", {SCENARIO: ((NAME, 'name = ".."'),)}),
]


# -- stores that are not stores ------------------------------------------------------------------------

def _replace_store(content):
    def setup(root):
        (root / "store" / "results.sqlite").write_bytes(content(root / "store" / "results.sqlite"))
    return setup


def _sqlite(statements):
    def content(path):
        path.unlink()
        with sqlite3.connect(path) as db:
            for statement in statements:
                db.execute(statement)
        db.close()
        return path.read_bytes()
    return content


def _edited_store(path, statement):
    with sqlite3.connect(path) as db:
        db.execute(statement)
    db.close()
    return path.read_bytes()


def _damaged(path):
    data = bytearray(path.read_bytes())
    data[100:len(data)] = b"\xff" * (len(data) - 100)  # the header survives, every page after it is garbage
    return bytes(data)


STORE = "store/results.sqlite"
BROKEN_STORES = {
    "empty file": (lambda path: b"", "not a sweep results store of symbiosis (no table design, meta, runs)"),
    "text file": (lambda path: b"run,status\n1,done\n", "file is not a database"),
    "truncated": (lambda path: path.read_bytes()[:3000], "cannot be read as a sweep results store"),
    "damaged pages": (_damaged, "cannot be read as a sweep results store"),
    "another program's database": (_sqlite(["CREATE TABLE things (x)"]), "no table design, meta, runs"),
    "meta without the sweep": (_sqlite(["CREATE TABLE meta (key, value)", "CREATE TABLE design (run)", "CREATE TABLE runs (run)"]),
                               "missing fingerprint, keep_series, measures, parameters, sweep"),
    "meta damaged": (lambda path: _edited_store(path, "UPDATE meta SET value = 'not json' WHERE key = 'parameters'"),
                     "meta.parameters: is damaged"),
    "meta of the wrong shape": (lambda path: _edited_store(path, "UPDATE meta SET value = 'null' WHERE key = 'measures'"),
                                "meta.measures: is damaged"),
    "meta naming a measure that is not one": (
        lambda path: _edited_store(path, """UPDATE meta SET value = '["regime"]' WHERE key = 'measures'"""), "meta.measures: is damaged"),
    "meta naming a parameter the design lacks": (
        lambda path: _edited_store(path, """UPDATE meta SET value = '["run"]' WHERE key = 'parameters'"""), "meta.parameters: is damaged"),
}
STORE_CASES = [
    Case(f"{command} of a store: {what}", (command, "store", *extra), STORE, problem, setup=_replace_store(content))
    for what, (content, problem) in BROKEN_STORES.items()
    for command, extra in (("analyze", ()), ("export", ("--format", "csv", "--out", "exported")), ("sweep", ()))
]
STORE_CASES = [c if c.command[0] != "sweep" else Case(c.name, ("sweep", SWEEP, "--quiet", "--out", "store", "--resume"),
                                                        c.where, c.problem, setup=c.setup) for c in STORE_CASES]
STORE_CASES += [
    Case("analyze no store", ("analyze", "nowhere"), "nowhere", "no such file or folder"),
    Case("export no store", ("export", "nowhere"), "nowhere", "no such file or folder"),
    Case("analyze a folder without a store", ("analyze", "result"), "result", "no sweep results here (expected result/results.sqlite)"),
    Case("analyze an unknown --x", ("analyze", "store", "--x", "policy.nosuch"), f"{STORE}: --x", "is not a swept parameter"),
    Case("analyze an unknown --measure", ("analyze", "store", "--measure", "nosuch"), f"{STORE}: --measure", "is not a measure"),
]

# -- exploring: the commands that list, and the flags added for them -------------------------------------
EXPLORE_CASES = [
    Case("params of an unknown section", ("params", "nosuch"), "params: SECTION", "unknown section 'nosuch' (known: scenario,"),
    Case("measures with an argument", ("measures", "extra"), "symbiosis", "unrecognized arguments: extra"),
    Case("analyze --x of a points sweep", ("analyze", "cmpstore", "--x", "policy.landfill_tax_eur_per_t"),
         "cmpstore/results.sqlite: --x", "a points design (labelled override sets) has no parameter axes"),
    Case("analyze --y of a points sweep", ("analyze", "cmpstore", "--y", "policy.landfill_tax_eur_per_t", "--out", "mine"),
         "cmpstore/results.sqlite: --y", "has no parameter axes"),
    Case("compare grown into a comparison with another seed", (*COMPARE[:-1], "cmpstore", "--seed", "9", "--policy",
                                                               "t:policy.landfill_tax_eur_per_t=80"),
         "cmpstore/results.sqlite", "was made by a different sweep (changed: seed)"),
    Case("compare --out a run's folder", (*COMPARE[:-1], "result", "--policy", "t:policy.landfill_tax_eur_per_t=80"),
         "result: --out", "holds the results of a run"),
]

# -- the interactive page: refused before a server starts ------------------------------------------------
APP_CASES = [
    Case("app of a missing scenario", ("app", "nosuch.toml"), "nosuch.toml", "file not found"),
    Case("app of a scenario with a TOML error", ("app", SCENARIO), SCENARIO, ("not valid TOML", "line 9"),
         {SCENARIO: (("landfill_tax_eur_per_t = 30.0", 'landfill_tax_eur_per_t = "30.0'),)}),
    Case("app on a port that is not one", ("app", "--port", "70000"), "symbiosis app", "must be from 0 to 65535"),
]

CASES = RUN_CASES + OUT_CASES + SWEEP_CASES + COMPARE_CASES + STORE_CASES + EXPLORE_CASES + APP_CASES


# -- accepted, with a word -------------------------------------------------------------------------------
WARNING_CASES = [
    Case("schedule out of time order", RUN, f"{SCENARIO}: policy.landfill_tax_eur_per_t",
         "the [time, value] pairs are not in time order; they are used sorted", {SCENARIO: ((TAX, "landfill_tax_eur_per_t = [[24, 50.0], [0, 10.0]]"),)},
         status=0, output="out"),
    Case("a firm entering after the end", ("run", SCENARIO, "--no-figures", "--quiet", "--out", "out"),
         f"{SCENARIO}: firms[1].entry", "cement enters at '2035-01', after the run's last month 2029-12: it never enters",
         {SCENARIO: ((CEMENT, CEMENT + 'entry = "2035-01"\n'),)}, status=0, output="out"),
    Case("an event after the end", ("run", SCENARIO, "--no-figures", "--quiet", "--out", "out"), f"{SCENARIO}: events[0].at",
         "'2031-01' is after the run's last month 2029-12: the event never happens",
         {SCENARIO: (('at = "2028-01"', 'at = "2031-01"'),)}, status=0, output="out"),
    Case("an approval after the end", ("run", SCENARIO, "--no-figures", "--quiet", "--out", "out"),
         f"{SCENARIO}: approvals[0].allowed_from", "'2032-01' is after the run's last month 2029-12: what it allows never happens",
         {SCENARIO: ((None, '\n[[approvals]]\nwaste = "fly_ash"\nallowed_from = "2032-01"\n'),)}, status=0, output="out"),
]


# -- the harness -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A working folder: the park, its catalogue, a sweep file, a finished sweep's store and an earlier run."""
    root = tmp_path_factory.mktemp("template")
    for name in (SCENARIO, CATALOGUE):
        shutil.copy(DATA / name, root / name)
    (root / SWEEP).write_text(SWEEP_TEXT)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["sweep", SWEEP, "--workers", "1", "--quiet", "--out", "store"]) == 0
        assert main(list(RUN[:-1]) + ["result"]) == 0
        assert main([*COMPARE[:-1], "cmpstore", "--workers", "1", "--policy", "t:policy.landfill_tax_eur_per_t=80"]) == 0
    finally:
        os.chdir(cwd)
    return root


def _edit(path, edits):
    text = path.read_text() if path.exists() else ""
    for old, new in edits:
        if old is None:
            text += new
        else:
            assert text.count(old) == 1, f"test anchor {old!r} must occur once in {path.name}"
            text = text.replace(old, new)
    path.write_text(text)


def run_case_in(template, tmp_path, case, monkeypatch, capsys):
    work = tmp_path / "work"
    shutil.copytree(template, work, symlinks=True)
    for name, edits in case.edits.items():
        if edits:
            _edit(work / name, edits)
    if case.setup is not None:
        case.setup(work)
    monkeypatch.chdir(work / case.cwd)
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    # The same limit on every machine: a park that should be refused is refused before it is built.
    monkeypatch.setattr(workload, "available_memory", lambda: 4 * workload.GIB)
    before = tree(work)
    try:
        status = main(list(case.command))
    except SystemExit as exc:  # argparse's own refusals
        status = exc.code
    stdout, stderr = capsys.readouterr()
    return work, before, status, stdout, stderr


def assert_says(stderr, prefix, case):
    assert stderr.startswith(f"{prefix}: {case.where}: " if case.where.count(":") or prefix == "warning" else f"{prefix}: {case.where}"), stderr
    for words in (case.problem,) if isinstance(case.problem, str) else case.problem:
        assert words in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_ends_with_one_clear_message_and_touches_nothing(case, template, tmp_path, monkeypatch, capsys):
    work, before, status, stdout, stderr = run_case_in(template, tmp_path, case, monkeypatch, capsys)
    assert status == case.status, stderr
    assert stderr.startswith(f"error: {case.where}:"), stderr
    for words in (case.problem,) if isinstance(case.problem, str) else case.problem:
        assert words in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert tree(work) == before, "a refused command changed files"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"], "a refused command wrote outside its folder"


@pytest.mark.parametrize("case", WARNING_CASES, ids=[c.name for c in WARNING_CASES])
def test_doubtful_input_runs_with_one_warning(case, template, tmp_path, monkeypatch, capsys):
    work, before, status, stdout, stderr = run_case_in(template, tmp_path, case, monkeypatch, capsys)
    assert status == 0, stderr
    assert stderr.startswith(f"warning: {case.where}: {case.problem}") and len(stderr.strip().splitlines()) == 1, stderr
    after = tree(work)
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    assert changed and all(path.split(os.sep)[0] == case.output for path in changed), sorted(changed)


@pytest.mark.parametrize("args, words", [
    (("--seed", "abc"), ("--seed", "expected a whole number, got 'abc'")),
    (("--seed", "-3"), ("--seed", "must be >= 0")),
    (("--years", "-1"), ("--years", "must be a positive number")),
    (("--years", "inf"), ("--years", "must be a positive number")),
    (("--out", CATALOGUE), ("--out", "is a file, expected a folder")),
], ids=["seed abc", "seed negative", "years negative", "years inf", "out a file"])
def test_bad_flags_exit_2(args, words, template, tmp_path, monkeypatch, capsys):
    case = Case("flag", ("run", SCENARIO, "--quiet", *args), "", "")
    work, before, status, _, stderr = run_case_in(template, tmp_path, case, monkeypatch, capsys)
    assert status == 2
    for word in words:
        assert word in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr and tree(work) == before


def test_good_overrides_load_and_run(template, tmp_path, monkeypatch, capsys):
    overrides = ["policy.landfill_tax_eur_per_t=80", "firms.power.capacity=5000"]
    scenario = load(template / SCENARIO, overrides)
    assert scenario.policy["landfill_tax_eur_per_t"].values == (80.0,)
    assert scenario.spec.firms[0].capacity == 5000.0
    case = Case("good", (*RUN, *(arg for o in overrides for arg in ("--set", o))), "", "")
    work, before, status, _, stderr = run_case_in(template, tmp_path, case, monkeypatch, capsys)
    assert status == 0 and stderr == ""
    assert (work / "out" / "metadata.json").exists()


def _read_only(folder):
    """Make ``folder`` unwritable for this process (root needs the immutable flag); False where that cannot be done."""
    folder.chmod(0o555)
    if os.access(folder, os.W_OK) and shutil.which("chattr"):
        subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    return not os.access(folder, os.W_OK)


def _writable(folder):
    if shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def test_a_store_in_a_read_only_folder_is_analysed_and_exported_elsewhere(template, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    shutil.copytree(template, work, symlinks=True)
    monkeypatch.chdir(work)
    store = work / "store"
    before = tree(store)
    try:
        if not _read_only(store):
            pytest.skip("cannot make a folder read-only here (file system without chmod or chattr)")
        assert main(["analyze", "store", "--out", "analysis"]) == 0
        assert main(["export", "store", "--format", "parquet", "--out", "exported"]) == 0
        capsys.readouterr()
        assert main(["analyze", "store"]) == 2  # its own analysis/ cannot go there
        err = capsys.readouterr().err
        assert err.startswith("error: store/analysis: --out: cannot be written: the result is made beside it") \
            and "must be writable (permission denied)" in err, err
    finally:
        _writable(store)
    assert tree(store) == before
    assert (work / "analysis" / "regime_shares.csv").exists() and (work / "exported" / "runs.parquet").exists()


def test_an_empty_folder_in_a_read_only_one_takes_a_result_inside_it_not_in_its_place(template, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    shutil.copytree(template, work, symlinks=True)
    (work / "locked" / "mine").mkdir(parents=True)
    monkeypatch.chdir(work)
    try:
        if not _read_only(work / "locked"):
            pytest.skip("cannot make a folder read-only here (file system without chmod or chattr)")
        before = tree(work)
        assert main([*RUN[:-1], "locked/mine"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: locked/mine: --out: cannot be written: the result is made beside it") \
            and "give a folder inside one you can write into" in err, err
        assert tree(work) == before
        assert main([*RUN[:-1], "locked/mine/run"]) == 0
    finally:
        _writable(work / "locked")
    assert (work / "locked" / "mine" / "run" / "periods.csv").exists()


def test_a_sweep_folder_written_before_manifests_is_still_ours(template, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    shutil.copytree(template, work, symlinks=True)
    monkeypatch.chdir(work)
    assert main(["analyze", "store"]) == 0
    for manifest in (work / "store" / MANIFEST_NAME, work / "store" / "analysis" / MANIFEST_NAME):
        manifest.unlink()  # as an older version of symbiosis left them
    assert main(["export", "store"]) == 0
    assert main(["analyze", "store"]) == 0
    assert main(["sweep", SWEEP, "--quiet", "--out", "store", "--resume"]) == 0
    assert (work / "store" / "runs.csv").exists() and (work / "store" / "analysis" / MANIFEST_NAME).exists()
