"""The Run menu's anomaly switch: with it on, a run stops at the node whose forward or backward
first produced NaN/Inf (gradstudio.runtime.anomaly), and that node is selected and shown."""
from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction


def install_anomaly_mode(window: Any) -> QAction:
    """Adds Run > Detect anomalies (NaN/Inf) and selects the node an anomaly stopped at."""
    action = QAction("Detect &anomalies (NaN/Inf)", window, checkable=True)
    action.setStatusTip("Stop at the node whose forward or backward first produces NaN or Inf "
                        "(engine.autograd.set_detect_anomaly)")
    action.toggled.connect(window.runner.set_detect_anomaly)
    window.run_menu.addSeparator()
    window.run_menu.addAction(action)
    window.addAction(action)

    def stopped_at(node_id: str, message: str) -> None:
        item = window.scene.node_items.get(node_id)
        if item is None:
            return
        window.scene.clearSelection()
        item.setSelected(True)
        window.view.ensureVisible(item)
        window.statusBar().showMessage(f"{item.node.label}: {message}", 8000)

    window.runner.anomaly.connect(stopped_at)
    window.act_detect_anomaly = action
    return action
