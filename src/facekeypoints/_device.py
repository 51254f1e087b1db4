"""What the CPU can do fast (decides bfloat16 defaults for training and the torch backend)."""

from __future__ import annotations


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (fast bfloat16 matrix units). torch.cpu's feature probes are private;
    without them, assume no AMX (float32 is always correct)."""
    import torch

    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe()) if probe else False
    except Exception:
        return False
