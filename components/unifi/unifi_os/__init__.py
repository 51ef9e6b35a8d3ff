"""``python -m components.unifi unifi-os apply|remove|status``: a UniFi OS gateway's FRR BGP config
and DNS records through the Network v2 API.

``inputs`` reads what ``apply`` is given (stdin JSON, ``UNIFI_BGPD_CONF``), ``state`` what an
earlier run left in ``PULUMI_COMMAND_STDOUT``, ``bgp`` and ``dns`` plan the changes (every conflict
is found before anything is written), ``commands`` runs them.
"""
