"""What the CPU can do fast (decides bfloat16 defaults for training and the torch backend)."""

from __future__ import annotations

import functools

CPUINFO = "/proc/cpuinfo"
# Flags of CPUs that compute in bfloat16 natively (Intel AMX; AVX-512 BF16 on Intel and AMD). Elsewhere
# torch emulates it: an outside probe (issue 28) found --bf16 training 6.9x slower than float32 on AVX2 only.
NATIVE_BF16 = ("amx_bf16", "avx512_bf16")


@functools.lru_cache(maxsize=None)
def cpu_flags(path: str = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them ("flags" in /proc/cpuinfo); empty where it cannot tell."""
    try:
        with open(path, encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (`NATIVE_BF16`): where bf16 autocast is worth having."""
    return any(flag in cpu_flags() for flag in NATIVE_BF16)


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (fast bfloat16 matrix units): from its flags, else torch's (private) probe;
    without either, assume no AMX (float32 is always correct)."""
    if cpu_flags():
        return "amx_bf16" in cpu_flags()
    import torch

    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe()) if probe else False
    except Exception:
        return False


def bf16_note(bf16: bool, device: str) -> str | None:
    """What to tell someone who asked for bfloat16 on a CPU that emulates it; None where there is nothing to say."""
    if bf16 and device == "cpu" and not cpu_has_native_bf16():
        return ("--bf16 on a CPU without native bfloat16 (neither AMX nor AVX-512 BF16 among its flags): it is "
                "emulated, several times slower than float32 (--no-bf16, the default here)")
    return None
