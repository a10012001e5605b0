"""The gateway's pipeline, one module per stage in flow order: read, smooth, enrich, commit
(the group hand-over), outbox, publish; ``values`` holds what passes between them."""
