"""Pure renderers: the lab model in, the artifacts users would otherwise write by hand out."""
