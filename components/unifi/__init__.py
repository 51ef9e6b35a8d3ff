"""A small UniFi controller client: force-provision the gateway and wait until it is back.

Run it as ``python -m components.unifi provision|status --url URL --site SITE ...``; see
``components/unifi/__main__.py`` for the options and ``errors.py`` for the exit codes. ``client`` talks to the
controller (classic controller or UniFi OS console, TLS trust, CSRF tokens, retries);
``provision`` finds the gateway, sends ``force-provision`` and waits for a new config version.
With SSH options, ``gateway_file`` first makes sure the controller holds the stack's
``config.gateway.json`` and rolls it back when the gateway does not come back; ``ssh`` is the
SSH client (pinned host key, key text from the environment), ``options`` the SSH options and
``remote`` what runs over SSH. ``unifi_os`` (``unifi-os apply|remove|status``) writes a UniFi OS
gateway's FRR BGP config and DNS records through the Network v2 API. No Pulumi import: the
Pulumi program runs this module as a command.
"""
