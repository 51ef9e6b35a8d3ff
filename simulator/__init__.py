"""The lab simulator: a stack's rendered files, run with real BGP and DNS daemons in network
namespaces, then checked the way a user would check the real lab (``make simulate STACK=lab``).

Pipeline: ``render`` writes the files (:mod:`simulator.rendering`); translators turn them into
daemon configs and refuse anything they do not model (:mod:`simulator.translate`); a plan says
what runs where (:mod:`simulator.plan`); :mod:`simulator.lab` builds it in namespaces and
:mod:`simulator.checks` polls it.
"""
