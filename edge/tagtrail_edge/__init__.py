"""tagtrail gateway agent: read -> smooth -> enrich -> outbox -> publish, and the technician CLI."""

__version__ = "0.1.0"
