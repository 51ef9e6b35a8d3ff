"""`python -m components.verify`: checks that the real lab does what the stack says."""
