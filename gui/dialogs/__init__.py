"""The dialogs: profiles and keys, and quitting while armed."""
