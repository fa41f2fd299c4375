"""Soak test: many targets against a misbehaving simulator (see soak.py)."""
