"""The CPU a benchmark ran on, named so that two machines this project meets are told apart.

Both the Zen 3 and the Zen 5 EPYC VMs here call themselves ``AMD EPYC``, and the same trainer
runs at 9.4k samples/s on one and 51.5k on the other (fp32 on AVX2 against bf16 on AVX-512):
a figure is only read right with its CPU's family, model and vector extensions beside it.
"""

from __future__ import annotations

import os
import platform

# the vector extensions that decide this net's speed, best first (the first one present is named)
EXTENSIONS = (
    ("amx_bf16", "AMX, AVX-512 bf16"),
    ("avx512_bf16", "AVX-512 bf16"),
    ("avx512f", "AVX-512, no bf16"),
    ("avx2", "AVX2, no AVX-512, no bf16"),
)


def describe_cpu(cpuinfo: str) -> str:
    """``/proc/cpuinfo``'s first processor as one line: "AMD EPYC (family 25 model 1: AVX2, no
    AVX-512, no bf16)"; the model name alone where the file says no more."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor is enough: a VM's cores are alike
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    flags = set(fields.get("flags", "").split())
    details = []
    if "cpu family" in fields and "model" in fields:
        details.append(f"family {fields['cpu family']} model {fields['model']}")
    extension = next((words for flag, words in EXTENSIONS if flag in flags), None)
    if extension:
        details.append(extension)
    return f"{name} ({': '.join(details)})" if details else name


def cpu_description() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return describe_cpu(info.read())
    except OSError:
        return describe_cpu("")


def usable_cores() -> int:
    """The cores this process may run on: under ``taskset -c 0,1`` on a 16-core host, 2."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
