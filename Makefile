# Linux, as root, with Debian's frr, gobgpd and dnsmasq: apt-get install -y frr gobgpd dnsmasq-base
STACK ?= lab
SPEAKER ?= frr
PYTHON ?= venv/bin/python
# SERVICES=dump.json: `kubectl get services -A -o json` output, the cluster's Services for discovery
SERVICES ?=
# ROGUE=worker1: that node's speaker also announces routes the gateway must refuse (several: ROGUE="a b")
ROGUE ?=

.PHONY: simulate
# Render Pulumi.$(STACK).yaml, run its lab in network namespaces with real BGP and DNS daemons,
# check it as a user would, and take it down. KEEP=1 keeps it up to explore until Enter.
simulate:
	$(PYTHON) -m simulator --stack-file Pulumi.$(STACK).yaml --speaker $(SPEAKER) $(if $(KEEP),--keep) $(if $(SERVICES),--services-from $(SERVICES)) $(foreach node,$(ROGUE),--rogue-node $(node))
