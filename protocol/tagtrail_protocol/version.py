"""The schema version carried in every payload as ``"v": "MAJOR.MINOR"``."""

from typing import Final

SCHEMA_MAJOR: Final = 1
SCHEMA_MINOR: Final = 2
SCHEMA_VERSION: Final = f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}"
