"""Translators from rendered files to the simulator's model. Each refuses, naming the field,
anything it does not model."""
