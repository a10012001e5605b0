"""tagtrail gateway agent and technician CLI: read -> smooth -> enrich -> outbox -> publish."""
