"""One module per decoder family: payloads built for given values, and what the hub's
decoder must read back from them."""
