"""`engine.onnx`: present so that programs which import `torch.onnx` run; the engine cannot
write ONNX files, so `export` says so (a program's `is_in_onnx_export()` checks answer False)."""

__all__ = ["export", "is_in_onnx_export", "OnnxExporterError"]


class OnnxExporterError(RuntimeError):
    pass


def is_in_onnx_export():
    return False


def export(model, args=(), f=None, *rest, **kwargs):
    raise OnnxExporterError("ONNX export is not available in gradstudio's engine; export the model "
                            "with PyTorch (its state_dict loads there with torch.load)")
