"""What to protect: the spot, options and by-name picker."""
