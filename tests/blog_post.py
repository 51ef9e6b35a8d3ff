"""The blog post's hand-written artifacts, as published: the golden output for its lab."""

from typing import Any

# The MetalLB ConfigMap's ``config`` document, in the post's key order.
POST_METALLB_CONFIG: dict[str, Any] = {
    "peers": [{"peer-address": "192.168.1.1", "peer-asn": 64512, "my-asn": 64512}],
    "address-pools": [{"name": "bgp", "protocol": "bgp", "addresses": ["10.10.10.10-10.10.10.250"]}],
}

# The config.gateway.json the post copied onto the controller.
POST_CONFIG_GATEWAY: dict[str, Any] = {
    "protocols": {
        "bgp": {
            "64512": {
                "neighbor": {
                    "10.10.0.200": {"remote-as": "64512"},
                    "10.10.0.101": {"remote-as": "64512"},
                    "10.10.0.102": {"remote-as": "64512"},
                    "10.10.0.103": {"remote-as": "64512"},
                },
                "parameters": {"router-id": "192.168.1.1"},
            }
        }
    },
    "system": {
        "static-host-mapping": {
            "host-name": {"k8s-dashboard.service": {"alias": ["k8s-dashboard"], "inet": ["10.10.10.10"]}}
        }
    },
}
