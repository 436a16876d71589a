"""Support code shared by the test directories (on the path via pytest's `pythonpath`)."""
