"""Shipped training recipes (YAML) and the script that rebuilds the embedded tiny-s1 model."""
