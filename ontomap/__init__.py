"""ontomap: radiology finding models (OIFM) as one RDF knowledge graph."""

__version__ = "0.1.0"
