"""Kubernetes side of the lab: MetalLB install manifests and what the program applies."""
