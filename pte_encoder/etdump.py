"""ETDump files (.etdp): the traces ExecuTorch's runtime writes when it runs a
program with event tracing on, read with the standard library only.

    import pte_encoder.etdump as etdump

    dump = etdump.read_etdump("run.etdp")
    for run in dump.run_data or []:
        for event in run.events or []:
            p = event.profile_event
            if p is not None:
                print(run.name, p.name, p.end_time - p.start_time)

The model is schema/etdump.fbs's, field by field what ExecuTorch's
``deserialize_from_etdump_flatcc`` gives (see :mod:`pte_encoder.formats.etdump.read`
for the few differences). Its table names (``Tensor``, ``Int``, ``String``,
...) are also the program's, so they live here, not at the package's top
level; the functions are in both places.
"""

from .schemas.etdump.model import (AllocationEvent, Allocator, Bool, DebugEvent, Double, ETDump,
                                   Event, Float, Int, Null, ProfileEvent, RunData, ScalarType,
                                   String, Tensor, TensorList, Value, ValueType)
from .formats.etdump.read import (DebugTensor, debug_tensor, debug_tensors, decode_etdump,
                                  is_size_prefixed, read_debug_buffer, read_etdump)
from .formats.etdump.json import etdump_json_form, etdump_to_json
from .views.profile import TIME_UNIT, format_profile, summarize_profile

__all__ = [
    "ETDump", "RunData", "Allocator", "Event", "ProfileEvent", "AllocationEvent", "DebugEvent",
    "Value", "ValueType", "Tensor", "TensorList", "Int", "Bool", "Float", "Double", "String",
    "Null", "ScalarType",
    "decode_etdump", "read_etdump", "is_size_prefixed",
    "DebugTensor", "debug_tensor", "debug_tensors", "read_debug_buffer",
    "etdump_json_form", "etdump_to_json",
    "summarize_profile", "format_profile", "TIME_UNIT",
]
