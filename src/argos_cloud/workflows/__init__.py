"""One module per command; they compose config, discovery, plan, engine, kinds, provision."""
