"""Markdown tables of the system benchmark, and its block in benchmarks/RESULTS.md.

The block sits inside RESULTS.md's hand-written Analysis section (between ``<!-- analysis:start -->`` and
``<!-- analysis:end -->``), which ``make bench`` keeps when it regenerates the rest of the file. The
four-mode run and the capacity run each own a sub-block (``<!-- system-modes:start -->`` ...,
``<!-- system-capacity:start -->`` ...), replaced by the run that produced it; text around them is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODE_NAMES = {
    "poke": "poke",
    "reschedule": "reschedule",
    "deferrable": "deferrable (classic)",
    "sft": "start_from_trigger",
    "capacity": "start_from_trigger (capacity)",
}
ORDER = ("poke", "reschedule", "deferrable", "sft")


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _load(values: Any) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "?"


def _mode_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for mode in [m for m in ORDER if m in report["phases"]]:
        r = report["phases"][mode]
        wc, ws, wr = r["worker_cpu"], r["worker_slot_seconds"], r["worker_runs"]
        ls, lf = r["latency"]["success"], r["latency"]["failure"]
        t = r["triggerer"]
        rss = t["rss_per_deferred_task"]
        rows.append(
            [
                f"**{MODE_NAMES[mode]}**",
                f"{r['n']}",
                f"{r['n'] - r['problem_count'] if r['problem_count'] < r['n'] else 0}/{r['n']}"
                + ("" if r["all_right"] else " **(problems)**"),
                f"{r['peak_in_flight']}",
                f"{_f(wc['success']['mean'], 2)} / {_f(wc['failure']['mean'], 2)}",
                f"{_f(ws['success']['mean'])} / {_f(ws['failure']['mean'])}",
                f"{_f(wr['success']['mean'])} / {_f(wr['failure']['mean'])}",
                f"{_f(ls['p50'])} / {_f(ls['p99'])}",
                f"{_f(lf['p50'])} / {_f(lf['p99'])}",
                f"{_f(r['gets']['worker_per_wait'])} / {_f(r['gets']['triggerer_per_wait'])}",
                _f(t["cpu_ms_per_status_call"], 2) if t["status_calls"] else "-",
                _f(rss / 1024) if rss is not None and t["peak_deferred"] else "-",
                f"{r['cpu']['scheduler']:.0f} ({_f(r['cpu']['scheduler'] / r['n'], 2)})",
                f"{r['cpu']['api-server']:.0f}",
                f"{r['wall_seconds'] / 60:.1f}",
                f"{_f(r['loadavg_mean'])} (max {_f(r['loadavg_max'])})",
            ]
        )
    return rows


MODE_HEADER = [
    "mode",
    "N",
    "ended right",
    "peak waits in flight",
    "worker CPU s/wait (success / failure)",
    "worker slot-s/wait (success / failure)",
    "worker runs/wait (success / failure)",
    "job end -> success p50 / p99 s",
    "job end -> failed p50 / p99 s",
    "status calls/wait (worker / triggerer)",
    "triggerer CPU ms/status call",
    "triggerer RSS KB/deferred task",
    "scheduler CPU s (per wait)",
    "api-server CPU s",
    "phase minutes",
    "load avg (1 min) mean",
]


def render_tables(report: dict[str, Any]) -> str:
    out: list[str] = []
    if any(m in report["phases"] for m in ORDER):
        out += _table(MODE_HEADER, _mode_rows(report))
        out.append("")
        out += _cpu_table(report, [m for m in ORDER if m in report["phases"]])
        out.append("")
    if "capacity" in report["phases"]:
        out += _capacity_lines(report)
    if report.get("errors"):
        out += ["", "Errors:", *(f"- {e}" for e in report["errors"])]
    for mode, r in report["phases"].items():
        if r["problems"]:
            out += [
                "",
                f"Problems in {mode} ({r['problem_count']}):",
                *(f"- {p}" for p in r["problems"][:20]),
            ]
    return "\n".join(out)


def _cpu_table(report: dict[str, Any], modes: list[str]) -> list[str]:
    names = [
        "executor",
        "scheduler",
        "triggerer",
        "api-server",
        "dag-processor",
        "postgres",
        "emulator",
        "orchestrator",
    ]
    rows = []
    for mode in modes:
        r = report["phases"][mode]
        c = r["cpu"]
        rows.append(
            [MODE_NAMES[mode], f"{r['wall_seconds']:.0f}"]
            + [_f(c.get(n), 0) for n in names]
            + [
                _f(c.get("machine"), 0),
                _f(c.get("machine", 0) - sum(c.get(n, 0) for n in names), 0),
                f"{100 * c['executor_attributed'] / c['executor']:.0f}%" if c["executor"] else "-",
                _f(r["create_cpu"]["mean"], 2),
            ]
        )
    return _table(
        [
            "phase",
            "wall s",
            *[f"{n} CPU s" for n in names],
            "whole machine CPU s",
            "other processes CPU s",
            "executor CPU attributed to tasks",
            "create task CPU s",
        ],
        rows,
    )


def _span(low: float, high: float) -> str:
    if high >= 120:
        return f"{low / 60:.0f}-{high / 60:.0f} min"
    return f"{low:.0f}-{high:.0f} s"


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if value is not None else "-"


def _capacity_lines(report: dict[str, Any]) -> list[str]:
    r = report["phases"]["capacity"]
    t = r["triggerer"]
    st = t.get("steady") or {}
    ls = r["latency"]["success"]
    rss, marginal = t["rss_per_deferred_task"], t.get("rss_marginal_per_task")
    rows = [
        [
            f"{r['n']}",
            f"{r['n'] - r['problem_count'] if r['problem_count'] < r['n'] else 0}/{r['n']}"
            + ("" if r["all_right"] else " **(problems)**"),
            f"{t['peak_deferred']}",
            f"{_f(r['spec']['poll'], 0)}",
            _span(r["job_duration"]["min"], r["job_duration"]["max"]),
            f"{_pct(st.get('triggerer_share'))} ({_pct(st.get('runner_share'))} + {_pct(st.get('supervisor_share'))}) "
            f"over {st.get('seconds', 0):.0f} s"
            if st
            else "-",
            _f(st.get("status_calls_per_second"), 0),
            f"{_f(st.get('runner_cpu_ms_per_status_call'), 2)} / {_f(st.get('triggerer_cpu_ms_per_status_call'), 2)}",
            f"{_pct(t['cpu_share'])} ({_f(r['cpu']['triggerer'], 0)} s)",
            f"{_f(ls['p50'])} / {_f(ls['p99'])} / {_f(ls['max'])}",
            f"{_f(rss / 1024 if rss is not None else None, 0)} / {_f(marginal / 1024 if marginal is not None else None, 0)}",
            f"{_f((t['rss_at_peak'] or 0) / 2**20, 0)}",
            f"{_pct(st.get('scheduler_share'))} / {_f(r['cpu']['scheduler'], 0)} s",
            f"{r['wall_seconds'] / 60:.1f}",
            f"{_f(r['loadavg_mean'])} (max {_f(r['loadavg_max'])})",
        ]
    ]
    return _table(
        [
            "sensors",
            "ended right",
            "peak deferred",
            "poll s",
            "jobs",
            "triggerer CPU share while all wait (runner + supervisor)",
            "status calls/s",
            "runner / whole triggerer CPU ms per status call, while all wait",
            "triggerer CPU share, whole phase",
            "job end -> success p50 / p99 / max s",
            "triggerer RSS KB per deferred task (average / marginal)",
            "triggerer RSS MB at peak",
            "scheduler CPU share while all wait / whole phase",
            "phase minutes",
            "load avg mean",
        ],
        rows,
    )


def update_results(path: Path, report: dict[str, Any]) -> None:
    """Replace (or add) this run's sub-block inside RESULTS.md's Analysis section."""
    kind = "capacity" if set(report["phases"]) == {"capacity"} else "modes"
    start, end = f"<!-- system-{kind}:start -->", f"<!-- system-{kind}:end -->"
    block = "\n".join([start, *_generated(report), end])
    text = path.read_text()
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        marker = "<!-- analysis:end -->"
        if marker not in text:
            text = text.rstrip("\n") + "\n"
            marker_at = len(text)
        else:
            marker_at = text.index(marker)
        text = text[:marker_at] + block + "\n" + text[marker_at:]
    path.write_text(text)


def _generated(report: dict[str, Any]) -> list[str]:
    m = report["machine"]
    lines = [
        "",
        f"Command: `{report['command']}` (run {report['started']}, {report['elapsed_seconds'] / 60:.0f} min; provider "
        f"{report['provider_commit'][:10] or '(given venv)'}; Airflow {m.get('airflow')}, {report['db']}, "
        f"{report['executor']}, parallelism {report['settings']['AIRFLOW__CORE__PARALLELISM']}; "
        f"{m.get('nproc')} CPUs; load average (1/5/15 min) {_load(m.get('loadavg_start'))} at the start, "
        f"{_load(m.get('loadavg_end'))} at the end).",
        "",
        render_tables(report),
        "",
    ]
    return lines
