"""The registry database (SQLAlchemy: SQLite or PostgreSQL): schema and migrations, carriers,
sites, gateways and shipments, dead letters, and what the API reads of the projections."""
