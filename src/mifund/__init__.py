"""mifund: public basic medical insurance funds under municipal pooling.

Data flows one way: import -> warehouse -> analyses -> views. Only ``mifund.storage``
knows which engine (DuckDB here, Spark later) holds the warehouse.
"""

__version__ = "0.1.0"
