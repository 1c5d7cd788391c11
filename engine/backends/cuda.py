"""`engine.backends.cuda`: `is_built()` and the TF32 switches programs set (`matmul.allow_tf32`)."""
import types as _types

matmul = _types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                allow_bf16_reduced_precision_reduction=True)


def is_built():
    from .. import cuda
    return cuda.is_available()
