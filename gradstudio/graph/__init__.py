"""The document layer: nodes, edges, regions, the node catalog and the file format (no Qt)."""
from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.catalog_types import NodeSpec, ParamSpec, PortSpec
from gradstudio.graph.document import Change, Document, Edge, GraphError, Node, Region
from gradstudio.graph.fileio import FileFormatError, dumps, load, loads, save

__all__ = ["CATALOG", "Change", "Document", "Edge", "FileFormatError", "GraphError", "Node",
           "NodeSpec", "ParamSpec", "PortSpec", "Region", "dumps", "load", "loads", "save"]
