"""Checks of the real lab: the gateway's BGP sessions and routes, names, and the services' answers."""
