# Linux, as root, with Debian's frr, gobgpd, dnsmasq and sshd: apt-get install -y frr gobgpd dnsmasq-base openssh-server
STACK ?= lab
# STACKS=lab,lab-test: several clusters behind one gateway (the first is --stack-file); overrides STACK
STACKS ?=
SPEAKER ?= frr
PYTHON ?= venv/bin/python
# SERVICES=dump.json: `kubectl get services -A -o json` output, the cluster's Services for discovery
# (of the first stack)
SERVICES ?=
# ROGUE=worker1: that node's speaker also announces routes the gateway must refuse (several: ROGUE="a b";
# nodes of any of the STACKS, STACK/NODE for a name several STACKS have)
ROGUE ?=
# VERIFY_JSON=FILE: write the --json object of the product's verify, run against the simulated lab
VERIFY_JSON ?=

comma := ,
stack_list = $(if $(strip $(STACKS)),$(subst $(comma), ,$(STACKS)),$(STACK))

.PHONY: simulate
# Render Pulumi.$(STACK).yaml, run its lab in network namespaces with real BGP and DNS daemons,
# check it as a user would, and take it down. KEEP=1 keeps it up to explore until Enter.
simulate:
	$(PYTHON) -m simulator --stack-file Pulumi.$(firstword $(stack_list)).yaml $(foreach stack,$(wordlist 2,$(words $(stack_list)),$(stack_list)),--with-stack Pulumi.$(stack).yaml) --speaker $(SPEAKER) $(if $(KEEP),--keep) $(if $(SERVICES),--services-from $(SERVICES)) $(foreach node,$(ROGUE),--rogue-node $(node)) $(if $(VERIFY_JSON),--verify-json $(VERIFY_JSON))

.PHONY: verify
# Check the real lab of Pulumi.$(STACK).yaml from this machine: BGP sessions and routes on the
# gateway (with metallb-unifi:gatewaySsh), host names through its DNS, and each service's answer.
# SERVICES=dump.json for MetalLB's allocated addresses and discovered names; JSON=1 for --json.
verify:
	$(PYTHON) -m components.verify --stack-file Pulumi.$(STACK).yaml $(if $(SERVICES),--services-from $(SERVICES)) $(if $(JSON),--json)
