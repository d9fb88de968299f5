"""A single-node SLURM cluster on this machine for the workflow's SLURM test: Debian's slurm-wlm and munge,
accounting off, state and logs under one temporary directory, daemons stopped by the pids they wrote.

The configuration goes to /etc/slurm/slurm.conf (job steps read only that path) and only where none is there."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
# Job steps (srun inside a batch job) read the default path whatever SLURM_CONF the submitter had.
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by FingerprintML's test cluster; removed when it stops\n"


class ClusterUnavailable(RuntimeError):
    """The machine cannot run the SLURM daemons (the reason is the message)."""


def _run(*cmd: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, env=env, timeout=600)


def install() -> None:
    """Install slurm-wlm and munge from Debian where they are missing (needs root and the Debian mirror)."""
    if all(shutil.which(d) for d in DAEMONS):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ClusterUnavailable("slurm-wlm and munge are not installed and apt-get cannot be run as root here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if _run("apt-get", "install", "-y", "-q", "slurm-wlm", "munge", check=False, env=env).returncode != 0:
        _run("apt-get", "update", "-q", check=False, env=env)
        proc = _run("apt-get", "install", "-y", "-q", "slurm-wlm", "munge", check=False, env=env)
        if proc.returncode != 0:
            raise ClusterUnavailable(f"apt-get install slurm-wlm munge failed:\n{proc.stderr[-2000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterUnavailable("cannot read MemTotal from /proc/meminfo")


@dataclass
class Cluster:
    """A running single-node cluster; ``env`` points SLURM clients (sbatch, squeue) at it."""

    root: Path
    conf: Path
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def stop(self) -> None:
        """Stop the daemons this cluster started, by their pids, and remove the configuration it installed."""
        for pid in reversed(list(self.pids.values())):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                with contextlib.suppress(ProcessLookupError):  # it may exit between the last check and this kill
                    os.kill(pid, signal.SIGKILL)
        self.pids.clear()
        if SYSTEM_CONF.is_file() and SYSTEM_CONF.read_text().startswith(MARKER):
            SYSTEM_CONF.unlink()


def _start_munge(root: Path, cluster: Cluster) -> None:
    if MUNGE_SOCKET.exists() and _run("munge", "-n", check=False).returncode == 0:
        return  # a munged the machine already runs serves us; it is not ours to stop
    if not MUNGE_KEY.exists():
        MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
        MUNGE_KEY.write_bytes(os.urandom(1024))
        MUNGE_KEY.chmod(0o400)
    MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
    pidfile = root / "munged.pid"
    _run("munged", "--force", f"--pid-file={pidfile}")
    cluster.pids["munged"] = int(pidfile.read_text())


def start(root: Path, timeout: float = 60.0) -> Cluster:
    """Start munged (unless one runs), slurmctld and slurmd with a configuration under ``root``."""
    install()
    if os.geteuid() != 0:
        raise ClusterUnavailable("the single-node cluster runs its daemons as root")
    host = socket.gethostname().split(".")[0]
    for sub in ("state", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if SYSTEM_CONF.exists() and not SYSTEM_CONF.read_text().startswith(MARKER):
        raise ClusterUnavailable(f"{SYSTEM_CONF} belongs to a cluster this machine already has; not replaced")
    conf = SYSTEM_CONF
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        MARKER
        + f"""ClusterName=fingerprintml
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
NodeName={host} CPUs={os.cpu_count()} RealMemory={_memory_mb() - 1024} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    )
    cluster = Cluster(root=root, conf=conf)
    try:
        _start_munge(root, cluster)
        for daemon in ("slurmctld", "slurmd"):
            proc = _run(daemon, "-f", str(conf), check=False, env=cluster.env)
            if proc.returncode != 0:
                raise ClusterUnavailable(f"{daemon} did not start: {proc.stderr.strip()}")
            pidfile = root / f"{daemon}.pid"
            deadline = time.monotonic() + timeout
            while not pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not pidfile.exists():
                raise ClusterUnavailable(f"{daemon} wrote no pid file; its log:\n{_tail(root / f'{daemon}.log')}")
            cluster.pids[daemon] = int(pidfile.read_text())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = _run("sinfo", "-h", "-o", "%T", check=False, env=cluster.env).stdout.strip()
            if state in ("idle", "mixed", "allocated"):
                return cluster
            time.sleep(0.5)
        raise ClusterUnavailable(f"the node did not become idle (state {state!r}):\n{_tail(root / 'slurmd.log')}")
    except BaseException:
        cluster.stop()
        raise


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else f"({path} missing)"
