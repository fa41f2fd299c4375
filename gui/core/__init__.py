"""The headless core: exchange client, engine, keys, journal, settings.

Nothing in this package may import Qt: it runs on a server and is tested without a display.
"""
