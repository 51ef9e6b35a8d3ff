"""Host names for the cluster's LoadBalancer Services that the stack does not declare."""
