"""The emulator served over HTTPS, used by ``run.py`` by default (the real API is HTTPS only).

``python -m benchmarks.tls_emulator --cert CERT --key KEY [hadoop-eco-emulator options]``: the emulator's own
CLI options and state, its aiohttp app, and a TLS listener on 127.0.0.1. The certificate is a throwaway
self-signed one for 127.0.0.1 made by :func:`make_certificate`; clients trust it through the connection's
``verify`` extra (a CA bundle path).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import ipaddress
import json
import os
import signal
import ssl
import sys
from pathlib import Path


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 (and its key) into ``folder``; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hadoop-eco-bench-emulator")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "bench-cert.pem", folder / "bench-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o600)
    return cert_path, key_path


async def _serve(args: argparse.Namespace, cert: str, key: str) -> None:
    from aiohttp import web

    from airflow_provider_hadoop_eco.emulator.app import create_app
    from airflow_provider_hadoop_eco.emulator.cli import build_state

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner = web.AppRunner(create_app(build_state(args)), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=args.backlog, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ready = Path(args.ready_file)  # type: ignore[attr-defined]
    tmp = ready.with_name(ready.name + ".tmp")
    tmp.write_text(json.dumps({"url": f"https://127.0.0.1:{port}", "port": port, "pid": os.getpid()}))
    os.replace(tmp, ready)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    from airflow_provider_hadoop_eco.emulator.cli import build_parser

    argv = list(sys.argv[1:] if argv is None else argv)
    cert = argv[argv.index("--cert") + 1]
    key = argv[argv.index("--key") + 1]
    for flag in ("--cert", "--key"):
        i = argv.index(flag)
        del argv[i : i + 2]
    args = build_parser().parse_args(argv)
    if args.host != "127.0.0.1" or not args.ready_file:
        raise SystemExit("tls_emulator: --host must be 127.0.0.1 and --ready-file is required")
    asyncio.run(_serve(args, cert, key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
