"""Runs documents on the engine: forward, backward, step-through and training (no Qt)."""
from gradstudio.runtime.session import NodeInfo, RunError, Session

__all__ = ["NodeInfo", "RunError", "Session"]
