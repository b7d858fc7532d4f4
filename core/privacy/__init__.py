"""Privacy: the user's rights (access, export, erasure, restriction, consent) and the retention
clock, all driven by the data inventory in storage/inventory.py."""
