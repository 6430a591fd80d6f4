"""Bulk ingestion of address-change files (initial migration, nightly batches)."""
