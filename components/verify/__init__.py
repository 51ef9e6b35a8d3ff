"""``python -m components.verify``: the lab checked from the gateway's side, as the blog post checked it by hand."""
