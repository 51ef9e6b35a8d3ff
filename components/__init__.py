"""metallb-unifi: MetalLB and a UniFi gateway as one Pulumi program."""
