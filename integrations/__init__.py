"""One folder per source or device family; each declares itself as `INTEGRATION`."""
