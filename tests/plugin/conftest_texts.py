"""Pieces of the conftest files that plugin tests write: a meter that reads the joules the
models count for themselves, so that every energy is known exactly."""

# The class's opening; a conftest adds read_joules (from its own STATE) and close.
SAMPLE_METER_HEAD = """
class SampleMeter:
    name = "samples"
    is_estimate = False
    description = "joules counted per sample by the model itself"
    reads_host = False  # counted in Python: other processes cannot reach it
    gpu_facts = {}
"""
MAKE_SAMPLE_METER = """
def pytest_pruneenergy_make_meter(device, kind, estimate_watts_per_core):
    return SampleMeter()
"""
