"""The terminal front-ends: ``run`` (the headless runner) and ``keys`` (profiles). No Qt here."""
