"""Benchmark ``oyren run`` against one hand-written DuckDB query over the same observations.

The simulator writes a seeded sandbox campaign as JSONL (cached in the system temp folder by its
parameters, since writing a million lines takes a while). Then subprocesses run on that file,
each timed from start to exit, with CPU time and peak memory (all its processes together):

- ``oyren run --format json``: the engine as users run it, validation of every line included,
  with the screening (integrity flags, topics) it does by default;
- ``oyren run --format json --no-screen``: the same without screening, the work the reference does;
- ``--engine python``: the pure rules engine in memory, the plan's oracle, for comparison;
- ``--no-screen`` on the same observations as Parquet (folded when they entered), which the plan
  reads as it stands, and the same with screening on;
- a reference: one DuckDB SQL query that computes the same views at the deadline (observed,
  interpolated, last before the cutoff, from creation; integers rounded half up), eligibility and
  prizes (best video, then discover with the max-prizes pass-over and the tie-breaks).

The results are compared video by video (views, basis, eligibility) and prize by prize, and the
agreement is printed with a table of wall time, CPU time, peak memory and the ratio against DuckDB.

The reference only needs to handle what the simulator writes: valid lines, ``collected_at`` in
Unix seconds and ``hashtag_names`` always present. It does none of the validation ``oyren run``
does on each line, so the ratio errs on the side of flattering DuckDB.

``--written spaced`` runs every side on the same lines written as Python's ``json.dumps``
writes them (a space after each ``:`` and ``,``) with letters as they are, ``--written escaped``
with letters past ASCII as escapes (its default); ``oyren run`` reads those with other checks.
``--written crlf`` runs them on the simulator's lines with CRLF line ends, as a program on
Windows writes them; ``--written nulls`` on compact lines that give every field, ``null`` where
the simulator leaves one out, as a writer of fixed columns writes them (a data frame's export).

Usage: ``python benchmarks/engine.py [--videos N] [--observations-per-video K] [--quick]
[--repeat N] [--written compact|spaced|escaped|crlf|nulls]``.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

from oyren.inputs.observations import (  # noqa: E402
    EXTRA_FIELDS,
    FIELDS,
    observation_to_record,
    write_observations_jsonl,
)
from oyren.rules.campaign import Campaign, load_campaign  # noqa: E402
from oyren.sandbox import simulate as simulate_module  # noqa: E402
from oyren.sandbox.simulate import write_simulation  # noqa: E402

DEFAULT_CAMPAIGN = SRC / "oyren" / "data" / "sandbox-2024.toml"
# The goals of `oyren run` (the query plan on DuckDB) against the reference, in CPU time: with
# screening off, and on; and memory at most the reference's plus this much.
GOALS = {"oyren run --no-screen": 1.5, "oyren run": 2.0}
WRITTEN = ("compact", "spaced", "escaped", "crlf", "nulls")
# The fields in the order Öyrən writes them: every line written --written nulls gives them all.
ALL_FIELDS = (*FIELDS, *EXTRA_FIELDS)
MEMORY_GOAL_MIB = 100
CACHE = Path(tempfile.gettempdir()) / "oyren-bench"

# The reference runs in its own interpreter so that its memory is measured like oyren's.
DUCKDB_RUNNER = """
import sys, duckdb
con = duckdb.connect()
con.execute(open(sys.argv[1], encoding="utf-8").read())
"""


@dataclass(frozen=True, slots=True)
class Measurement:
    """One subprocess run: wall and CPU seconds, and its peak resident memory."""

    wall_s: float
    cpu_s: float
    peak_bytes: int


def main() -> None:
    """Parse options, generate (or reuse) the data, measure every side, compare and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=100_000, help="simulated videos")
    parser.add_argument(
        "--observations-per-video", type=int, default=10, help="crawls per video (about)"
    )
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument(
        "--quick", action="store_true", help="a fast check: 10,000 videos (100,000 observations)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each side this many times; keep the least times"
    )
    parser.add_argument("--campaign", type=Path, default=DEFAULT_CAMPAIGN, help="campaign file")
    parser.add_argument(
        "--written",
        choices=WRITTEN,
        default="compact",
        help="how the lines are written: compactly (as the simulator writes them), or as Python's"
        " json.dumps writes them, spaces after ':' and ',' with letters as they are (spaced) or"
        " as escapes (escaped, its default), or compactly with CRLF line ends (crlf), or"
        " compactly with every field, null where one is left out (nulls)",
    )
    args = parser.parse_args()
    videos = 10_000 if args.quick else args.videos
    repeat = max(1, args.repeat)

    campaign = load_campaign(args.campaign)
    data, lines = simulated_file(campaign, args.campaign, videos, args.observations_per_video,
                                 args.seed)  # fmt: skip
    if args.written != "compact":
        data = rewritten_copy(data, args.written)
    print(f"{lines:,} observations of {videos:,} videos ({data.stat().st_size / 2**20:,.0f} MiB)")

    load = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    with tempfile.TemporaryDirectory(prefix="oyren-bench-") as tmp:
        work = Path(tmp)
        base = [sys.executable, "-m", "oyren", "run", "--campaign", str(args.campaign),
                "--observations", str(data), "--format", "json"]  # fmt: skip
        sides = {
            "oyren run": base,
            "oyren run --no-screen": [*base, "--no-screen"],
            "--engine python --no-scr": [*base, "--no-screen", "--engine", "python"],
        }
        # The same observations as Öyrən's Parquet (folded at entry), which the plan reads as is.
        parquet = parquet_copy(data)
        on_parquet = [*base, "--no-screen"]
        on_parquet[on_parquet.index(str(data))] = str(parquet)
        sides["--no-screen, Parquet"] = on_parquet
        # With screening on the same Parquet: what screening costs apart from reading JSONL.
        sides["oyren run, Parquet"] = [arg for arg in on_parquet if arg != "--no-screen"]
        outputs = {name: work / f"{n}.json" for n, name in enumerate(sides)}
        duck_out = work / "duckdb.jsonl"
        sql_file = work / "reference.sql"
        sql_file.write_text(reference_sql(campaign, data, duck_out), encoding="utf-8")
        sides["DuckDB query"] = [sys.executable, "-c", DUCKDB_RUNNER, str(sql_file)]
        runs: dict[str, list[Measurement]] = {name: [] for name in sides}
        # Take turns, so that a busy spell on the machine does not favour one side.
        for _ in range(repeat):
            for name, command in sides.items():
                runs[name].append(measure(name, command, stdout=outputs.get(name)))
        ok = True
        for name, out in outputs.items():
            print(f"\n{name}: agreement with the DuckDB reference")
            ok = report_agreement(orjson.loads(out.read_bytes()), duck_out) and ok

    best = {name: _best(measured) for name, measured in runs.items()}
    duck = best["DuckDB query"]
    print()
    print(f"{'':<24}{'wall s':>8}{'CPU s':>8}{'peak MiB':>10}{'CPU × DuckDB':>14}"
          f"{'MiB over DuckDB':>17}")  # fmt: skip
    for name, m in best.items():
        print(
            f"{name:<24}{m.wall_s:>8.2f}{m.cpu_s:>8.2f}{m.peak_bytes / 2**20:>10,.0f}"
            f"{m.cpu_s / duck.cpu_s:>14.2f}{(m.peak_bytes - duck.peak_bytes) / 2**20:>17,.0f}"
        )
    print(f"({len(os.sched_getaffinity(0))} CPUs, load average {load:.1f} before the runs; "
          f"least wall and CPU time of {repeat}; memory is the peak of all processes "
          "together)")  # fmt: skip
    for name, goal in GOALS.items():
        m = best[name]
        ratio, over = m.cpu_s / duck.cpu_s, (m.peak_bytes - duck.peak_bytes) / 2**20
        met = ratio <= goal and over <= MEMORY_GOAL_MIB
        print(
            f"goal {name}: CPU ≤ {goal}× DuckDB ({ratio:.2f}×), memory ≤ DuckDB + "
            f"{MEMORY_GOAL_MIB} MiB ({over:+,.0f} MiB): {'met' if met else 'NOT met'}"
        )
    if not ok:
        sys.exit(1)


def _best(runs: list[Measurement]) -> Measurement:
    """The least wall time and the least CPU time of the runs (each side's quietest, the same
    rule for every side), with the highest peak memory of all (memory varies little)."""
    return Measurement(
        min(m.wall_s for m in runs), min(m.cpu_s for m in runs), max(m.peak_bytes for m in runs)
    )


def simulated_file(
    campaign: Campaign, campaign_path: Path, videos: int, per_video: int, seed: int
) -> tuple[Path, int]:
    """Return the JSONL of the simulated campaign and its line count, writing it if not cached."""
    # The key covers everything that shapes the file, so a changed simulator never reuses old data.
    digest = hashlib.sha256(campaign_path.read_bytes())
    digest.update(Path(simulate_module.__file__).read_bytes())
    for writer in (write_observations_jsonl, observation_to_record):
        digest.update(inspect.getsource(writer).encode())
    path = CACHE / f"{campaign.id}-v{videos}-k{per_video}-s{seed}-{digest.hexdigest()[:12]}.jsonl"
    if path.exists():
        with path.open("rb") as handle:
            return path, sum(1 for _ in handle)
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"simulating {videos:,} videos (cached for later runs) ...", flush=True)
    partial = _partial(path)
    lines = write_simulation(
        campaign, partial, videos=videos, seed=seed, observations_per_video=per_video
    )
    partial.replace(path)
    return path, lines


def _partial(path: Path) -> Path:
    """A file of its own beside ``path`` to write it in, then rename: two benchmarks started at
    once each write their own, and the cache only ever holds whole files."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".partial")
    os.close(handle)
    return Path(name)


def rewritten_copy(data: Path, written: str) -> Path:
    """The JSONL file's lines written otherwise, once, beside it: as Python's ``json.dumps``
    writes them, letters past ASCII as escapes (``escaped``, its default) or as they are
    (``spaced``), or as they are with CRLF line ends (``crlf``), or compactly with every field,
    ``null`` where the line leaves one out (``nulls``)."""
    path = data.with_name(f"{data.stem}-{written}.jsonl")
    if not path.exists():
        print(f"writing the lines {written} (cached for later runs) ...", flush=True)
        partial = _partial(path)
        with data.open("rb") as source, partial.open("wb") as out:
            for line in source:
                if written == "crlf":
                    out.write(line.rstrip(b"\n") + b"\r\n")
                elif written == "nulls":
                    record = orjson.loads(line)
                    out.write(orjson.dumps({k: record.get(k) for k in ALL_FIELDS}) + b"\n")
                else:
                    record = orjson.loads(line)
                    text = json.dumps(record, ensure_ascii=written == "escaped") + "\n"
                    out.write(text.encode())
        partial.replace(path)
    return path


def parquet_copy(data: Path) -> Path:
    """The JSONL file's observations as Öyrən's Parquet, written once beside it."""
    from oyren.inputs.columnar import to_parquet

    path = data.with_suffix(".parquet")
    if not path.exists():
        print("writing the observations as Parquet (cached for later runs) ...", flush=True)
        partial = _partial(path)
        to_parquet(data, partial)
        partial.replace(path)
    return path


# Each side is started by this small launcher, which reports its child's CPU time and peak memory.
# On Linux a child's ru_maxrss starts at the peak of the process that started it (the high-water
# mark of the memory it shared until exec): started from this benchmark, which holds the results
# it compares, every side would show at least this benchmark's own peak.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
cpu = usage.ru_utime + usage.ru_stime
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {cpu} {usage.ru_maxrss}")
"""


def measure(name: str, command: list[str], *, stdout: Path | None) -> Measurement:
    """Run ``command`` to completion and measure it; exit if it fails."""
    paths = [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    with tempfile.TemporaryDirectory(prefix="oyren-measure-") as tmp, \
            open(stdout or os.devnull, "wb") as out:  # fmt: skip
        report = Path(tmp) / "usage"
        start = time.perf_counter()
        launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(report), *command], stdout=out, env=env
        )
        peak = [0]
        sampler = threading.Thread(target=_sample_tree_rss, args=(launcher.pid, peak), daemon=True)
        sampler.start()
        launcher.wait()
        wall = time.perf_counter() - start
        sampler.join()
        if launcher.returncode != 0 or not report.exists():
            sys.exit(f"{name}: the launcher failed with status {launcher.returncode}")
        code, cpu_s, max_rss = report.read_text(encoding="utf-8").split()
    if int(code) != 0:
        sys.exit(f"{name} failed with status {code}")
    # ru_maxrss (KiB on Linux) is exact but per process; the samples add up a process tree.
    peak_bytes = max(int(max_rss) * 1024, peak[0])
    return Measurement(wall, float(cpu_s), peak_bytes)


def _sample_tree_rss(pid: int, peak: list[int]) -> None:
    """Record in ``peak[0]`` the largest total RSS of the descendants of ``pid`` (the launcher,
    itself not counted), every 10 ms."""
    page = os.sysconf("SC_PAGE_SIZE")
    while True:
        total, alive = 0, False
        for member in _tree(pid):
            try:
                with open(f"/proc/{member}/statm", "rb") as statm:
                    fields = statm.read().split()
            except OSError:
                continue
            if member == pid:
                alive = True
                continue
            total += int(fields[1]) * page
        peak[0] = max(peak[0], total)
        if not alive:
            return
        time.sleep(0.01)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children", "rb") as children:
                    queue.extend(int(child) for child in children.read().split())
            except OSError:
                continue
    return found


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_sql_text(v) for v in sorted(values)) + "]::VARCHAR[]"


def reference_sql(campaign: Campaign, data: Path, out: Path) -> str:
    """One DuckDB query computing entries and prizes as the engine does; writes JSONL to ``out``."""
    # Campaign constants are computed once in Python, like the engine's RuleSet.
    return f"""
COPY (
WITH obs AS (
    SELECT id, username, create_time, region_code, video_description, hashtag_names,
           video_duration, view_count, collected_at
    FROM read_json({_sql_text(str(data))}, format = 'newline_delimited', columns = {{
        id: 'VARCHAR', username: 'VARCHAR', create_time: 'BIGINT', region_code: 'VARCHAR',
        video_description: 'VARCHAR', hashtag_names: 'VARCHAR[]', video_duration: 'BIGINT',
        view_count: 'BIGINT', collected_at: 'BIGINT'}})
),
per_video AS (
    SELECT
        id,
        -- Metadata as the video stood at the deadline: the last observation at or before the
        -- cutoff, else the first after; same instant: most views, then description, username.
        arg_max(
            {{username: username, create_time: create_time, region: region_code,
              tags: hashtag_names, duration: video_duration}},
            {{inside: collected_at <= {campaign.cutoff_ts},
              t: CASE WHEN collected_at <= {campaign.cutoff_ts} THEN collected_at
                      ELSE -collected_at END,
              v: view_count, d: video_description, u: username}}
        ) AS meta,
        -- The series around the cutoff; two counts at one instant keep the larger.
        max(view_count) FILTER (WHERE collected_at = {campaign.cutoff_ts}) AS v_at,
        max(collected_at) FILTER (WHERE collected_at < {campaign.cutoff_ts}) AS t0,
        arg_max(view_count, {{t: collected_at, v: view_count}})
            FILTER (WHERE collected_at < {campaign.cutoff_ts}) AS v0,
        min(collected_at) FILTER (WHERE collected_at > {campaign.cutoff_ts}) AS t1,
        arg_min(view_count, {{t: collected_at, v: -view_count}})
            FILTER (WHERE collected_at > {campaign.cutoff_ts}) AS v1
    FROM obs
    GROUP BY id
),
videos AS (
    SELECT
        id,
        meta.username AS username,
        meta.create_time AS create_time,
        TRY_CAST(id AS UHUGEINT) AS id_number,  -- ids order as numbers when they are numbers
        CASE
            WHEN v_at IS NOT NULL THEN 'observed'
            WHEN t0 IS NOT NULL AND t1 IS NOT NULL THEN 'interpolated'
            WHEN t0 IS NOT NULL THEN 'last_before_cutoff'
            ELSE 'from_creation'
        END AS basis,
        CAST(CASE
            WHEN v_at IS NOT NULL THEN v_at
            -- Exact linear interpolation, rounded half up: (2 n + span) // (2 span).
            WHEN t0 IS NOT NULL AND t1 IS NOT NULL THEN
                (2 * (v0::HUGEINT * (t1 - t0) + (v1 - v0)::HUGEINT * ({campaign.cutoff_ts} - t0))
                 + (t1 - t0)) // (2 * (t1 - t0))
            WHEN t0 IS NOT NULL THEN v0
            WHEN meta.create_time >= {campaign.cutoff_ts} THEN 0
            WHEN t1 <= meta.create_time THEN v1
            ELSE (2 * (v1::HUGEINT * ({campaign.cutoff_ts} - meta.create_time))
                  + (t1 - meta.create_time)) // (2 * (t1 - meta.create_time))
        END AS BIGINT) AS views,
        list_has_any(
            list_transform(meta.tags, lambda tag: strip_accents(lower(translate(
                ltrim(trim(tag), '#＃'), 'əƏöÖüÜğĞıIİşŞçÇ', 'eeoouuggiiisscc')))),
            {_sql_list(campaign.folded_hashtags)}
        )
        AND meta.create_time BETWEEN {campaign.window_start_ts} AND {campaign.cutoff_ts}
        AND coalesce(meta.duration >= {campaign.min_duration_s}, false)
        AND coalesce(list_contains({_sql_list(campaign.regions)}, upper(meta.region)), false)
        AND NOT list_contains({_sql_list(campaign.partner_usernames)}, lower(meta.username))
        AS eligible
    FROM per_video
),
best AS (
    SELECT id, username, views FROM videos WHERE eligible
    ORDER BY views DESC, create_time, id_number IS NULL, id_number, id
    LIMIT 1
),
creators AS (
    SELECT
        lower(username) AS creator,
        sum(views) AS views,
        arg_min(username, {{t: create_time, n: id_number IS NULL, i: id_number, s: id}}) AS shown,
        min({{t: create_time, n: id_number IS NULL, i: id_number, s: id}}) AS first_post,
        list(id ORDER BY views DESC, create_time, id_number IS NULL, id_number, id) AS video_ids
    FROM videos WHERE eligible
    GROUP BY 1
),
discover AS (
    -- A creator holding max_prizes_per_creator prizes already is passed over.
    SELECT shown, views, video_ids FROM creators
    WHERE CASE WHEN creator = (SELECT lower(username) FROM best) THEN 1 ELSE 0 END
          < {campaign.max_prizes_per_creator}
    ORDER BY views DESC, first_post
    LIMIT 1
)
SELECT 'video' AS kind, id, username, views, basis, eligible, NULL::VARCHAR[] AS video_ids
FROM videos
UNION ALL SELECT 'best_video', id, username, views, NULL, NULL, NULL FROM best
UNION ALL SELECT 'discover', NULL, shown, views, NULL, NULL, video_ids FROM discover
) TO {_sql_text(str(out))} (FORMAT json);
"""


def report_agreement(results: dict[str, Any], duck_out: Path) -> bool:
    """Compare the engine's JSON with the reference's rows; print and return the agreement."""
    ours = {
        e["video_id"]: (e["views_at_cutoff"], e["views_basis"], e["eligible"])
        for e in results["entries"]
    }
    theirs: dict[str, tuple[int, str, bool]] = {}
    prizes: dict[str, dict[str, Any]] = {}
    with duck_out.open("rb") as handle:
        for line in handle:
            row = orjson.loads(line)
            if row["kind"] == "video":
                theirs[row["id"]] = (row["views"], row["basis"], row["eligible"])
            else:
                prizes[row["kind"]] = row
    same_ids = ours.keys() == theirs.keys()
    common = ours.keys() & theirs.keys()
    checks = [
        ("videos", same_ids, f"{len(ours):,} vs {len(theirs):,}"),
        ("views at the cutoff", *_count(common, ours, theirs, 0)),
        ("basis", *_count(common, ours, theirs, 1)),
        ("eligibility", *_count(common, ours, theirs, 2)),
    ]
    winners = results["winners"]
    best = prizes.get("best_video")
    best_theirs = best and {k: best[k] for k in ("id", "username", "views")}
    best_ours = winners["best_video"] and {
        "id": winners["best_video"]["video_id"],
        "username": winners["best_video"]["username"],
        "views": winners["best_video"]["views"],
    }
    checks.append(("best video", best_ours == best_theirs, str(best_ours)))
    disc = prizes.get("discover")
    disc_theirs = disc and {"username": disc["username"], "views": disc["views"],
                            "video_ids": disc["video_ids"]}  # fmt: skip
    checks.append(("discover", winners["discover"] == disc_theirs,
                   str(winners["discover"] and {k: winners["discover"][k]
                                                for k in ("username", "views")})))  # fmt: skip
    for name, ok, detail in checks:
        print(f"  {'ok  ' if ok else 'DIFF'} {name}: {detail}")
    return all(ok for _, ok, _ in checks)


def _count(
    common: set[str], ours: dict[str, tuple[Any, ...]], theirs: dict[str, tuple[Any, ...]], i: int
) -> tuple[bool, str]:
    differ = [vid for vid in common if ours[vid][i] != theirs[vid][i]]
    detail = f"{len(common) - len(differ):,} of {len(common):,} agree"
    if differ:
        vid = min(differ)
        detail += f" (e.g. {vid}: {ours[vid][i]!r} vs {theirs[vid][i]!r})"
    return not differ, detail


if __name__ == "__main__":
    main()
