"""Lineage: from any number in a form back to its source rows; SQL over every stage; manifests."""
