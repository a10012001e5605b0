"""tagtrail device layer: serial bytes in, typed reads and fixes out; simulators beside."""
