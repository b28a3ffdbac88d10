"""Reading, overriding and validating scenario files.

A scenario is a TOML file (see ``scenarios/demo_park.toml``) that names its
catalogue files, sets parameters, lists firms and/or a synthetic-park generator,
and schedules events. It may build on another (``scenario.base``): a policy or
market variant of a park then states only what differs. :func:`load` returns a validated :class:`Scenario` or
raises :class:`~simulation.errors.ScenarioError` naming the file, the field and
the problem; nothing is run or written before validation passes.
"""

import dataclasses
import hashlib
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import TypeAdapter, ValidationError

from simulation.errors import ScenarioError
from simulation.scenario.catalogue import (
    Catalogue,
    HeatPump,
    Material,
    Process,
    Sector,
    Substitution,
)
from simulation.scenario.parameters import FirmSpec, Policy, ScenarioSpec
from simulation.scenario.snapshot import read_toml
from simulation.scenario.timeline import Calendar, Schedule, parse_date

SETTABLE_MATERIAL_FIELDS = ("virgin_price_eur", "gate_fee_eur")
SETTABLE_FIRM_FIELDS = ("capacity", "hurdle_rate", "risk_aversion")
CATALOGUE_SECTIONS = {"materials": Material, "sectors": Sector, "processes": Process}
# An entry of the merged catalogue, as its validator names it: "processes.cement" or "substitutions[3]".
CATALOGUE_ENTRY = re.compile(r"^(substitutions\[\d+\]|[a-z]+\.[^.]+)(.*)$")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: parameters, catalogue, calendar and schedules."""

    path: Path
    spec: ScenarioSpec
    catalogue: Catalogue
    calendar: Calendar
    policy: dict[str, Schedule]
    content_hash: str
    overrides: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())  # one line each: accepted, but probably not what was meant

    @property
    def name(self):
        return self.spec.scenario.name

    @property
    def periods(self):
        return int(round(self.spec.scenario.years * 12 / self.calendar.months_per_period))

    def event_period(self, index):
        return self.calendar.period_of(self.spec.events[index].at)

    def opening_periods(self):
        """The first period each catalogue substitution may be used in (:func:`opening_periods`)."""
        return opening_periods(self.catalogue, self.spec.approvals, self.calendar)


def opening_periods(catalogue, approvals, calendar):
    """The first period each catalogue substitution may be used in: its technique's date and the
    approvals, whichever comes last (0 for one open from the start)."""
    opens = []
    for sub in catalogue.substitutions:
        dates = [sub.available_from] if sub.available_from else []
        dates += [rule.allowed_from for rule in approvals if rule.covers(sub)]
        opens.append(max([0, *(calendar.period_of(when) for when in dates)]))
    return opens


def load(path, overrides=(), seed=None, years=None, files=None):
    """Load, override and validate a scenario; the only door into the model.

    ``files`` is the reader of the scenario and catalogue files (anything with
    ``read(path) -> dict``, e.g. a :class:`~simulation.scenario.snapshot.Snapshot`);
    by default they are read from disk.
    """
    path = Path(path)
    read = files.read if files is not None else read_toml
    raw = _read_with_base(path, read)
    for assignment in overrides:
        apply_override(raw, assignment, path)
    if seed is not None:
        raw.setdefault("scenario", {})["seed"] = seed
    if years is not None:
        raw.setdefault("scenario", {})["years"] = years
    _check_finite(raw, path, "")
    spec = _validate(ScenarioSpec, raw, path, "")
    _check_finite(spec.model_dump(), path, "")  # text such as "NaN" that validation read as a number
    catalogue, catalogue_raw = _load_catalogue(path, spec.scenario.catalogue, read)
    calendar = _calendar(spec, path)
    warnings = []
    policy = _policy_schedules(spec, calendar, path, warnings)
    _check_references(spec, catalogue, calendar, path)
    content = json.dumps({"scenario": raw, "catalogue": catalogue_raw}, sort_keys=True, default=str)
    scenario = Scenario(
        path=path,
        spec=spec,
        catalogue=catalogue,
        calendar=calendar,
        policy=policy,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
        overrides=tuple(overrides),
    )
    if scenario.periods < 1:
        raise ScenarioError(path, "scenario.years", f"{spec.scenario.years} years is shorter than one period ({calendar.months_per_period} month)")
    if years is None:  # a run shortened on purpose leaves later entries and events out without a word
        _warn_after_the_end(scenario, warnings)
    return dataclasses.replace(scenario, warnings=tuple(warnings)) if warnings else scenario


def _read_with_base(path, read, below=()):
    """The raw scenario at ``path``, on top of the scenario it names in ``scenario.base`` (and that one's base).

    Tables merge key by key and this file's values win; any other value, lists such as ``[[firms]]`` and
    ``[[events]]`` included, replaces the base's. The base lies in the scenario's folder or below it, as
    catalogue files do, and its catalogue files are named from this scenario's folder.
    """
    raw = read(path)
    run = raw.get("scenario")
    if not isinstance(run, dict) or "base" not in run:
        return raw
    base = run.pop("base")
    if not isinstance(base, str) or os.path.isabs(base) or os.path.normpath(base).split(os.sep)[0] == os.pardir:
        raise ScenarioError(path, "scenario.base", f"names another scenario file relative to this one's folder, in it "
                                                   f"or below it, got {base!r}")
    base_path = path.parent / base
    if base_path.resolve() in (*below, path.resolve()):
        raise ScenarioError(path, "scenario.base", f"{base!r} builds on this file again: scenarios cannot build on "
                                                   f"each other in a circle")
    try:
        under = _read_with_base(base_path, read, (*below, path.resolve()))
    except ScenarioError as exc:
        if exc.file != str(base_path):
            raise
        raise ScenarioError(path, "scenario.base", f"{base_path}: {exc.problem}") from None
    catalogue = under.get("scenario", {}).get("catalogue")
    if isinstance(catalogue, list):
        folder = os.path.dirname(base)
        under["scenario"]["catalogue"] = [os.path.join(folder, name) if isinstance(name, str) else name for name in catalogue]
    return _merged(under, raw)


def _merged(under, over):
    """``under`` with ``over`` on top: tables merge key by key, any other value of ``over`` replaces."""
    merged = dict(under)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_override(raw, assignment, path=None):
    """Apply ``dotted.path=VALUE`` to the raw scenario dict.

    List segments may be an index (``firms.0.capacity``) or, for lists of tables
    with an ``id``, that id (``firms.refinery.capacity``). VALUE is read as a TOML
    value (``80``, ``true``, ``[[0, 10], [60, 40]]``, ``"text"``); a bare word is
    taken as a string.
    """
    if "=" not in assignment:
        raise ScenarioError(path, assignment, "an override must look like PATH=VALUE, e.g. policy.landfill_tax_eur_per_t=80")
    dotted, text = assignment.split("=", 1)
    keys = dotted.strip().split(".")
    if not all(keys):
        raise ScenarioError(path, dotted, "empty segment in the override path")
    try:
        value = _parse_value(text.strip(), dotted.strip())
    except ScenarioError as exc:
        raise ScenarioError(path, exc.field, f"{exc.problem} (in --set {assignment})") from None
    node = raw
    for depth, key in enumerate(keys[:-1]):
        node = _descend(node, key, keys[: depth + 1], path)
    node[_slot(node, keys[-1], keys, path)] = value


def assignments(overrides):
    """``PATH=VALUE`` strings for a dict of dotted path -> value (strings already in that form pass as they are)."""
    if isinstance(overrides, dict):
        return [f"{path}={toml_value(value)}" for path, value in overrides.items()]
    return list(overrides)


def toml_value(value):
    """A value as TOML text: JSON, but for NaN and infinities, which TOML spells nan and inf (and loading refuses)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _parse_value(text, where=None):
    """VALUE of ``PATH=VALUE`` read as TOML; a bare word is text, but a broken list, table or string is an error."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if text[:1] in "[{\"'":
            problem = re.sub(r" \(at line \d+, column (\d+)\)", lambda m: f" (at character {int(m[1]) - 4})", str(exc))
            raise ScenarioError(None, where or "", f"the value {text!r} is not valid TOML: {problem}") from None
        return text


def _descend(node, key, so_far, path):
    slot = _slot(node, key, so_far, path)
    if isinstance(node, dict):
        node.setdefault(slot, {})  # a section the scenario leaves at its defaults
    return node[slot]


def _slot(node, key, so_far, path):
    """The dict key or list index that ``key`` names inside ``node``."""
    if isinstance(node, list):
        return _list_index(node, key, so_far, path)
    if not isinstance(node, dict):
        raise ScenarioError(path, ".".join(so_far), f"{'.'.join(so_far[:-1])} is a plain value, it has no field {key!r}")
    return key


def _list_index(items, key, so_far, path):
    if key.isdigit() and int(key) < len(items):
        return int(key)
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == key:
            return i
    ids = [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]
    choices = ([f"ids {', '.join(ids)}"] if ids else []) + ([f"an index below {len(items)}"] if items else [])
    hint = f"expected {' or '.join(choices)}" if choices else "the list is empty"
    raise ScenarioError(path, ".".join(so_far), f"no entry {key!r} ({hint})")


def _validate(model, data, path, prefix):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ScenarioError(path, _field_name(prefix, first["loc"]), _problem(first)) from None


def _check_finite(node, path, prefix):
    """Reject nan and inf, which TOML and ``--set`` accept but no parameter means."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ScenarioError(path, prefix, f"must be a finite number, got {node}")
    if isinstance(node, dict):
        for key, value in node.items():
            _check_finite(value, path, f"{prefix}.{key}" if prefix else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_finite(value, path, f"{prefix}[{i}]")


_UNION_TAGS = {"float", "int", "str", "bool"}  # how pydantic names the member of a union that failed


def _field_name(prefix, loc):
    name = prefix
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        elif "[" in str(part) or "function-after" in str(part) or part in _UNION_TAGS:
            continue  # pydantic's internal tags for union members and validators
        else:
            name += f".{part}" if name else str(part)
    return name


def _problem(error):
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown field (check the spelling against docs/odd.md)"
    if error["type"] == "missing":
        return "required field is missing"
    return f"{message} (got {error.get('input')!r})" if error["type"] != "value_error" else message


def _load_catalogue(scenario_path, files, read=None):
    read = read or read_toml
    merged = {"materials": {}, "sectors": {}, "processes": {}, "substitutions": []}
    origin = {}  # merged entry name -> (file, name in that file), to point errors at the right file
    for n, name in enumerate(files):
        path = _catalogue_path(scenario_path, name, f"scenario.catalogue[{n}]")
        raw = read(path)
        _check_finite(raw, path, "")
        for section, entries in raw.items():
            if section == "substitutions":
                _check_section_type(entries, list, path, section, "an array of tables [[substitutions]]")
                for i, entry in enumerate(entries):
                    _check_finite(_validate(Substitution, entry, path, f"substitutions[{i}]").model_dump(), path,
                                  f"substitutions[{i}]")
                    origin[f"substitutions[{len(merged['substitutions'])}]"] = (path, f"substitutions[{i}]")
                    merged["substitutions"].append(entry)
            elif section in CATALOGUE_SECTIONS:
                _check_section_type(entries, dict, path, section, f"tables [{section}.<id>]")
                for key, entry in entries.items():
                    if key in merged[section]:
                        raise ScenarioError(path, f"{section}.{key}", "defined twice across catalogue files")
                    _check_finite(_validate(CATALOGUE_SECTIONS[section], entry, path, f"{section}.{key}").model_dump(),
                                  path, f"{section}.{key}")
                    origin[f"{section}.{key}"] = (path, f"{section}.{key}")
                    merged[section][key] = entry
            elif section == "heat_pump":
                if "heat_pump" in origin:
                    raise ScenarioError(path, section, "defined twice across catalogue files")
                _check_finite(_validate(HeatPump, entries, path, section).model_dump(), path, section)
                origin["heat_pump"] = (path, section)
                merged["heat_pump"] = entries
            else:
                raise ScenarioError(path, section, "unknown section (expected materials, sectors, processes, substitutions "
                                                   "or heat_pump)")
    try:
        return Catalogue.model_validate(merged), merged
    except ValidationError as exc:
        raise _cross_reference_error(exc, origin, scenario_path, files) from None


def _catalogue_path(scenario_path, name, where):
    """A catalogue file, which must lie in the scenario's folder or below it (a symbolic link there may point anywhere)."""
    if os.path.isabs(name) or os.path.normpath(name).split(os.sep)[0] == os.pardir:
        raise ScenarioError(scenario_path, where, f"catalogue files are named relative to the scenario's folder and lie "
                                                  f"in it or below it, got {name!r}; copy the catalogue (e.g. "
                                                  f"scenarios/data) next to the scenario")
    path = scenario_path.parent / name
    if not path.exists():  # name the scenario field that points at the missing file
        raise ScenarioError(scenario_path, where, f"catalogue file {path} not found")
    return path


def _cross_reference_error(exc, origin, scenario_path, files):
    """The error for a reference between entries, pointed at the file of the entry that makes it."""
    message = exc.errors()[0]["msg"].removeprefix("Value error, ")
    field_name, _, problem = message.partition(": ")
    match = CATALOGUE_ENTRY.match(field_name)
    if match is None or match[1] not in origin:  # names no entry: every file is a suspect
        return ScenarioError(", ".join(str(scenario_path.parent / f) for f in files), field_name, problem or message)
    path, name = origin[match[1]]
    return ScenarioError(path, name + match[2], problem)


def _check_section_type(entries, expected, path, section, shape):
    if not isinstance(entries, expected):
        raise ScenarioError(path, section, f"expected {shape}, got {entries!r}")


def _calendar(spec, path):
    try:
        return Calendar(*parse_date(spec.scenario.start))  # the parser event dates use, so months are checked too
    except ValueError as exc:
        raise ScenarioError(path, "scenario.start", str(exc)) from None


def _policy_schedules(spec, calendar, path, warnings):
    schedules = {}
    for name in Policy.model_fields:
        where = f"policy.{name}"
        try:
            schedule = Schedule.parse(getattr(spec.policy, name), calendar)
        except ValueError as exc:
            raise ScenarioError(path, where, str(exc)) from None
        if any(v < 0 for v in schedule.values):
            raise ScenarioError(path, where, f"must not be negative, got {list(schedule.values)}")
        top = Policy.maximum(name)
        if any(v > top for v in schedule.values):
            what = "is a share and must lie in [0, 1]" if top == 1 else f"must be at most {top:g}"
            raise ScenarioError(path, where, f"{what}, got {list(schedule.values)}")
        if not schedule.in_order:
            warnings.append(_warning(path, where, "the [time, value] pairs are not in time order; they are used sorted"))
        schedules[name] = schedule
    return schedules


def _warning(path, where, problem):
    return f"warning: {path}: {where}: {problem}"


def _warn_after_the_end(scenario, warnings):
    """Firms that enter, events that fall and approvals that open after the run ends: allowed (a shorter
    --years), but said."""
    end, calendar, spec = scenario.periods, scenario.calendar, scenario.spec
    last = calendar.label(end - 1)
    for i, firm in enumerate(spec.firms):
        if calendar.period_of(firm.entry) >= end:
            warnings.append(_warning(scenario.path, f"firms[{i}].entry", f"{firm.id} enters at {firm.entry!r}, after the "
                                                                         f"run's last month {last}: it never enters"))
    for i, event in enumerate(spec.events):
        if calendar.period_of(event.at) >= end:
            warnings.append(_warning(scenario.path, f"events[{i}].at", f"{event.at!r} is after the run's last month "
                                                                       f"{last}: the event never happens"))
    for i, rule in enumerate(spec.approvals):
        if calendar.period_of(rule.allowed_from) >= end:
            warnings.append(_warning(scenario.path, f"approvals[{i}].allowed_from",
                                     f"{rule.allowed_from!r} is after the run's last month {last}: what it allows "
                                     "never happens"))
    for kind in ("networks", "shared_disposal"):
        for i, entry in enumerate(getattr(spec, kind)):
            if calendar.period_of(entry.built) >= end:
                warnings.append(_warning(scenario.path, f"{kind}[{i}].built", f"{entry.built!r} is after the run's last "
                                                                             f"month {last}: it is never used"))


def _check_references(spec, catalogue, calendar, path):
    for i, rule in enumerate(spec.approvals):  # first: the firms' owned recovery is checked against the dates
        _check_approval(rule, catalogue, calendar, path, f"approvals[{i}]")
    opens = opening_periods(catalogue, spec.approvals, calendar)
    sectors = {}  # firm id -> sector
    for i, firm in enumerate(spec.firms):
        where = f"firms[{i}]"
        if firm.id in sectors:
            raise ScenarioError(path, f"{where}.id", f"duplicate firm id {firm.id!r}")
        sectors[firm.id] = firm.sector
        _check_sector_process(catalogue, firm.sector, firm.process, path, where)
        process = catalogue.processes[firm.process or catalogue.sectors[firm.sector].default_process]
        entry = _period(calendar, firm.entry, path, f"{where}.entry")
        for waste in firm.recovery:
            _check_recovery(catalogue, process, waste, opens, entry, calendar, path, f"{where}.recovery")
        if firm.exit is not None and _period(calendar, firm.exit, path, f"{where}.exit") <= entry:
            raise ScenarioError(path, f"{where}.exit", "must come after entry")
    if spec.park is not None:
        for sector in spec.park.sector_mix:
            if sector not in catalogue.sectors:
                raise ScenarioError(path, f"park.sector_mix.{sector}", f"unknown sector {sector!r} (known: {', '.join(sorted(catalogue.sectors))})")
    for i, event in enumerate(spec.events):
        _check_event(event, sectors, catalogue, calendar, path, f"events[{i}]")
    for kind in ("networks", "shared_disposal"):
        entries = getattr(spec, kind)
        for i, entry in enumerate(entries):
            _check_shared(entry, entries[:i], sectors, catalogue, calendar, path, f"{kind}[{i}]", kind == "networks")


def _check_recovery(catalogue, process, waste, opens, entry, calendar, path, where):
    """A firm owns recovery of ``waste`` from its entry: its process must emit the waste beside an input the waste
    can replace, by a substitution open by then."""
    usable = [opens[k] for k, s in enumerate(catalogue.substitutions)
              if s.waste == waste and s.replaces in process.inputs and process.sector not in s.barred_sectors and not s.toll]
    if waste not in process.outputs or not usable:
        raise ScenarioError(path, where, f"the firm's process does not emit {waste!r} together with an input it can replace, so it cannot reuse it")
    if min(usable) > entry:
        raise ScenarioError(path, where, f"the firm owns a reuse of {waste!r} from its entry ({calendar.label(entry)}), but "
                                         f"no such substitution is open before {calendar.label(min(usable))} (approvals, technique dates)")


def _check_approval(rule, catalogue, calendar, path, where):
    for field_name in ("waste", "replaces"):
        name = getattr(rule, field_name)
        if name != "*" and name not in catalogue.materials:
            raise ScenarioError(path, f"{where}.{field_name}", f"unknown material {name!r}")
    if not any(rule.covers(sub) for sub in catalogue.substitutions):
        raise ScenarioError(path, where, f"no catalogue substitution turns {rule.waste!r} into {rule.replaces!r}, "
                                         "so the approval would change nothing")
    try:
        calendar.period_of(rule.allowed_from)
    except ValueError as exc:
        raise ScenarioError(path, f"{where}.allowed_from", str(exc)) from None


def _check_shared(entry, earlier, firms, catalogue, calendar, path, where, piped):
    """Shared infrastructure serves [[firms]] by id, for known materials (able to move by pipeline for a network,
    disposed of rather than sold for a disposal facility), from a date."""
    if any(other.id == entry.id for other in earlier):
        raise ScenarioError(path, f"{where}.id", f"duplicate id {entry.id!r}")
    for name in entry.materials:
        if name not in catalogue.materials:
            raise ScenarioError(path, f"{where}.materials", f"unknown material {name!r}")
        material = catalogue.materials[name]
        if piped and "pipeline" not in material.transport:
            raise ScenarioError(path, f"{where}.materials", f"{name!r} cannot move by pipeline (its transport modes: "
                                                           f"{', '.join(sorted(material.transport))})")
        if not piped and material.resale_eur > 0:
            raise ScenarioError(path, f"{where}.materials", f"{name!r} has a resale value: what no firm takes is sold, "
                                                           "never disposed of")
    for name in entry.members:
        if name not in firms:
            raise ScenarioError(path, f"{where}.members", f"unknown firm {name!r}: members are ids of the scenario's [[firms]]")
    if len(set(entry.members)) < len(entry.members):
        raise ScenarioError(path, f"{where}.members", "a firm is listed twice")
    try:
        calendar.period_of(entry.built)
    except ValueError as exc:
        raise ScenarioError(path, f"{where}.built", str(exc)) from None


def _check_sector_process(catalogue, sector, process, path, where):
    if sector not in catalogue.sectors:
        raise ScenarioError(path, f"{where}.sector", f"unknown sector {sector!r} (known: {', '.join(sorted(catalogue.sectors))})")
    if process is not None:
        _check_process(catalogue, sector, process, path, f"{where}.process")


def _check_process(catalogue, sector, process, path, field_name):
    if process not in catalogue.processes:
        raise ScenarioError(path, field_name, f"unknown process {process!r}")
    if catalogue.processes[process].sector != sector:
        raise ScenarioError(path, field_name, f"process {process!r} belongs to sector {catalogue.processes[process].sector!r}, not {sector!r}")


def _check_event(event, sectors, catalogue, calendar, path, where):
    _period(calendar, event.at, path, f"{where}.at")
    if event.firm is not None and event.firm not in sectors:
        raise ScenarioError(path, f"{where}.firm", f"unknown firm {event.firm!r}")
    if event.switch_process:  # a firm stays in its sector, as when it is declared
        _check_process(catalogue, sectors[event.firm], event.switch_process, path, f"{where}.switch_process")
    for key, kind, name, setting, value in event.settings():
        _check_event_setting(kind, name, setting, value, sectors, catalogue, path, f"{where}.set.{key}")


def _check_event_setting(kind, name, field, value, sectors, catalogue, path, where):
    """``materials.<id>.<price field>`` or ``firms.<id>.<attribute>``, with a valid value."""
    settable = {"materials": SETTABLE_MATERIAL_FIELDS, "firms": SETTABLE_FIRM_FIELDS}
    if kind not in settable or not name or field not in settable[kind]:
        raise ScenarioError(path, where, f"events may set materials.<id>.{{{', '.join(SETTABLE_MATERIAL_FIELDS)}}} "
                                         f"or firms.<id>.{{{', '.join(SETTABLE_FIRM_FIELDS)}}}")
    known = catalogue.materials if kind == "materials" else sectors
    if name not in known:
        raise ScenarioError(path, where, f"unknown {kind[:-1]} {name!r}")
    if value < 0 or (field == "capacity" and value == 0):
        rule = "must be positive" if field == "capacity" else "must not be negative"
        raise ScenarioError(path, where, f"{'a price' if kind == 'materials' else field} {rule}, got {value}")
    target = (Material if kind == "materials" else FirmSpec).model_fields[field]
    try:
        TypeAdapter(Annotated[float, *target.metadata]).validate_python(value)
    except ValidationError as exc:
        raise ScenarioError(path, where, _problem(exc.errors()[0])) from None


def _period(calendar, when, path, where):
    try:
        period = calendar.period_of(when)
    except ValueError as exc:
        raise ScenarioError(path, where, str(exc)) from None
    if period < 0:  # the model would never reach it: the firm would never enter, the event never happen
        raise ScenarioError(path, where, f"{when!r} is before the scenario start {calendar.label(0)}")
    return period
