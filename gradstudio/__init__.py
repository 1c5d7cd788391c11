"""gradstudio: see and debug backpropagation on a node-editor canvas."""
from pathlib import Path

__version__ = "0.1.0"

# resources/ sits beside the packages at the top level of the project.
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
EXAMPLES = RESOURCES / "examples"
