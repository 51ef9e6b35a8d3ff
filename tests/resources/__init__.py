"""Tests of the controller-side config.gateway.json scripts."""
