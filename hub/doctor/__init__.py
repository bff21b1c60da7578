"""`hub doctor`: the checks a new installation needs, and the debug bundle."""
