"""``hadoop-eco-emulator``: run the Hadoop Eco API emulator as a standalone process."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from airflow_provider_hadoop_eco.emulator.contract import DIALECT_REGIONS, PATHS
from airflow_provider_hadoop_eco.emulator.model import DEFAULT_CLUSTER_ID
from airflow_provider_hadoop_eco.emulator.recording import DEFAULT_MAX_RECORDS
from airflow_provider_hadoop_eco.emulator.scenario import load_scenario
from airflow_provider_hadoop_eco.emulator.state import EmulatorState
from airflow_provider_hadoop_eco.emulator.tls import make_certificate

DEFAULT_PORT = 8089


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``hadoop-eco-emulator``."""
    p = argparse.ArgumentParser(
        prog="hadoop-eco-emulator",
        description=(
            "Local emulator of the Kakao Cloud Hadoop Eco job cluster API in both dialects "
            "(v1: POST /hadoop-eco/v1/cluster/{id}, v2: POST /v2/hadoop-eco/clusters/{id}; "
            "GET .../request-id/{id}) plus an admin API under /_emulator/. "
            "Listens on loopback only."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default: 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 = a free port)"
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="scenario file (.json, .yaml or .yml): time_scale, dialects, clusters, faults",
    )
    p.add_argument(
        "--time-scale", type=float, default=None, help="emulated seconds per real second (default: 1)"
    )
    p.add_argument("--manual-clock", action="store_true", help="time only moves via POST /_emulator/advance")
    p.add_argument("--no-record", action="store_true", help="do not record requests (for benchmarks)")
    p.add_argument(
        "--max-records", type=int, default=None, help=f"record size bound (default: {DEFAULT_MAX_RECORDS})"
    )
    p.add_argument("--backlog", type=int, default=4096, help="listen backlog (default: 4096)")
    p.add_argument(
        "--tls", action="store_true",
        help="serve HTTPS with a throwaway self-signed certificate for 127.0.0.1/::1/localhost, made at "
        "start and deleted at exit; its path (the CA bundle to trust) is printed, put into the connection's "
        "'verify' extra and written to the ready file as ca_path",
    )  # fmt: skip
    p.add_argument(
        "--dialect", choices=["v1", "v2", "both"], default=None,
        help="API dialect(s) to serve: v1 (kr-central-1 paths), v2 (kr-central-2 paths) or both (default); "
        "a request on a dialect not served gets a 404",
    )  # fmt: skip
    g = p.add_argument_group(
        "single cluster (modifies the default cluster, or the scenario cluster with that id)"
    )
    g.add_argument("--cluster-id", help="cluster id (default: 58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf)")
    g.add_argument("--cluster-name", help="cluster name (default: hive-job-cluster)")
    g.add_argument("--job-type", choices=["hive", "spark"], help="job type (default: hive)")
    g.add_argument("--duration", type=float, help="emulated seconds from POST to Terminate (default: 30)")
    g.add_argument(
        "--outcome", action="append", choices=["Success", "Failure"],
        help="result of successive runs; repeat for a sequence (last repeats). Default: Success",
    )  # fmt: skip
    g.add_argument("--credential-id", help="expected Credential-ID (default: emulator-access-key)")
    g.add_argument("--credential-secret", help="expected Credential-Secret (default: emulator-secret-key)")
    g.add_argument("--api-key", help="expected Hadoop-Eco-Api-Key (default: emulator-api-key)")
    p.add_argument(
        "--ready-file",
        metavar="PATH",
        help="write {url, port, pid, host, ca_path} as JSON here once listening (ca_path null without --tls)",
    )
    p.add_argument(
        "--conn-id", default="hadoop_eco_default", help="connection id used in the printed export line"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing except errors")
    return p


def _cluster_overrides(args: argparse.Namespace) -> dict[str, Any]:
    mapping = {
        "cluster_id": args.cluster_id,
        "name": args.cluster_name,
        "job_type": args.job_type,
        "duration": args.duration,
        "outcomes": args.outcome,
        "credential_id": args.credential_id,
        "credential_secret": args.credential_secret,
        "api_key": args.api_key,
    }
    return {k: v for k, v in mapping.items() if v is not None}


def build_state(args: argparse.Namespace) -> EmulatorState:
    """Build the emulator state from the scenario file and the command-line flags."""
    scenario: dict[str, Any] = load_scenario(args.scenario) if args.scenario else {}
    clusters: list[Any] | None = scenario.get("clusters")
    overrides = _cluster_overrides(args)
    if overrides:
        if clusters is None:
            clusters = [{"cluster_id": DEFAULT_CLUSTER_ID, **overrides}]
        else:
            target = overrides.get("cluster_id")
            for i, cluster in enumerate(clusters):
                if target is None or cluster.get("cluster_id") == target:
                    clusters[i] = {**cluster, **overrides}
                    break
            else:
                clusters = [*clusters, overrides]
    time_scale = args.time_scale if args.time_scale is not None else scenario.get("time_scale", 1.0)
    # getattr: callers may build the namespace themselves (benchmarks wrap this parser).
    dialect = getattr(args, "dialect", None)
    return EmulatorState(
        time_scale=time_scale,
        manual_clock=args.manual_clock or bool(scenario.get("manual_clock", False)),
        record=not args.no_record and bool(scenario.get("record", True)),
        max_records=args.max_records or scenario.get("max_records") or DEFAULT_MAX_RECORDS,
        clusters=clusters,
        faults=scenario.get("faults"),
        dialects=dialect if dialect is not None else scenario.get("dialects"),
    )


def _raise_fd_limit() -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - best effort
        pass


def _write_ready_file(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, path)  # atomic: readers never see a half-written file


def _remove_ready_file(path: Path) -> None:
    path.unlink(missing_ok=True)


async def _serve(args: argparse.Namespace, state: EmulatorState) -> None:
    from airflow_provider_hadoop_eco.emulator.app import create_app
    from airflow_provider_hadoop_eco.emulator.server import base_url, start_site

    # getattr: callers may build the namespace themselves (benchmarks wrap this parser).
    tls = make_certificate() if getattr(args, "tls", False) else None
    try:
        context = tls.server_context() if tls is not None else None
        runner, port = await start_site(create_app(state), args.host, args.port, args.backlog, context)
    except BaseException:
        if tls is not None:
            tls.remove()
        raise
    url = base_url(args.host, port, tls=tls is not None)
    ca_path = str(tls.cert_path) if tls is not None else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ready: Path | None = Path(args.ready_file) if args.ready_file else None
    try:
        if not args.quiet:
            # A v2-only emulator is useless to a connection that speaks v1: print one that speaks v2.
            region = DIALECT_REGIONS["v2"] if state.dialects == ("v2",) else None
            conn = state.cluster().airflow_connection(url, region=region, verify=ca_path)
            clock = "manual" if state.clock.manual else f"time_scale={state.clock.time_scale:g}"
            print(f"Hadoop Eco emulator listening on {url} ({clock}, pid {os.getpid()})", flush=True)
            for cid, rt in state.clusters.items():
                c = rt.config
                print(
                    f"  cluster {cid} name={c.name} job_type={c.job_type} duration={c.duration:g}s "
                    f"outcomes={','.join(c.outcomes)} Credential-ID={c.credential_id}",
                    flush=True,
                )
            for dialect in state.dialects:
                paths = PATHS[dialect]
                print(f"  dialect {dialect}: POST {paths.create}, GET {paths.status}", flush=True)
            print(f"  admin API: {url}/_emulator/state", flush=True)
            if ca_path is not None:
                print(f"  TLS: self-signed certificate (trust it as the CA bundle): {ca_path}", flush=True)
            env_name = "AIRFLOW_CONN_" + args.conn_id.upper()
            print(f"export {env_name}='{json.dumps(conn)}'", flush=True)
        if ready is not None:
            info = {"url": url, "host": args.host, "port": port, "pid": os.getpid(), "ca_path": ca_path}
            _write_ready_file(ready, info)
        await stop.wait()
    finally:
        if not args.quiet:
            print("Hadoop Eco emulator stopping", flush=True)
        await runner.cleanup()
        if ready is not None:
            _remove_ready_file(ready)
        if tls is not None:
            tls.remove()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``hadoop-eco-emulator``. Returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from airflow_provider_hadoop_eco.emulator.server import check_loopback

    try:
        check_loopback(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        state = build_state(args)
    except (OSError, ValueError, TypeError) as exc:
        parser.error(f"invalid configuration: {exc}")
    _raise_fd_limit()
    try:
        asyncio.run(_serve(args, state))
    except OSError as exc:
        print(f"hadoop-eco-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
