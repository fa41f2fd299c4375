"""The main window and its parts: the arm button, the timing fields, the card grid, the cards,
their painted widgets and the journal pane."""
