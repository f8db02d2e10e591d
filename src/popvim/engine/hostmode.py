"""``privileged: "host"``: as privileged as the engine's host allows.

Docker's ``--privileged`` asks the runtime for every capability; where the
runtime's own bounding set lacks one (here CAP_SYS_RESOURCE), the container
cannot start. Host mode asks for exactly what the host has instead: the
capabilities in the bounding set of this process (popvimd runs as root on the
engine's host) that the engine knows, every device node of the host's /dev,
unconfined seccomp, AppArmor and system paths (/proc, /sys writable), and the
cgroup hierarchy read-write: enough for a nested dockerd (an emulated host,
seed 003). The policy key ``privileged_host`` gates it (default deny).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

# Linux capability numbers and the names Docker 20.10 knows (PERFMON, BPF and
# CHECKPOINT_RESTORE, 38-40, came later: asking for them fails the create).
CAPABILITIES = (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
    "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT "
    "SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE "
    "AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ"
).split()
SECURITY_OPT = ["seccomp=unconfined", "apparmor=unconfined"]
# systempaths=unconfined is the CLI's word for these two empty lists (no path of /proc or /sys
# masked or read-only); the API takes the lists, not the option.
UNMASKED: dict[str, list[str]] = {"MaskedPaths": [], "ReadonlyPaths": []}
CGROUP_BIND = "/sys/fs/cgroup:/sys/fs/cgroup:rw"
# The container gets its own of these (a terminal, a pty master): the host's would be wrong.
_OWN_DEVICES = ("/dev/console", "/dev/tty", "/dev/ptmx", "/dev/pts", "/dev/shm", "/dev/mqueue")


def bounding_set(status: Path = Path("/proc/self/status")) -> int:
    for line in status.read_text().splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    return 0


def host_capabilities(status: Path = Path("/proc/self/status")) -> list[str]:
    """The capabilities this process may hold that the engine knows, by Docker's names."""
    bounds = bounding_set(status)
    return [name for number, name in enumerate(CAPABILITIES) if bounds >> number & 1]


def host_devices(root: Path = Path("/dev")) -> list[str]:
    """Every character and block device under ``root``, as ``path:path:rwm``."""
    devices: list[str] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if str(Path(directory) / d) not in _OWN_DEVICES]
        for name in files:
            path = Path(directory) / name
            if str(path) in _OWN_DEVICES:
                continue
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                devices.append(f"{path}:{path}:rwm")
    return sorted(devices)


def host_config_options() -> dict[str, Any]:
    """The docker-py host-config keywords of host mode."""
    return {
        "cap_add": host_capabilities(),
        "security_opt": list(SECURITY_OPT),
        "devices": host_devices(),
        "device_cgroup_rules": ["a *:* rwm"],
    }
