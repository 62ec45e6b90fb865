"""Extraction: forms from the protocol, per-reviewer and reconciled TOML files, validation, double-extraction
comparison and reconciliation, risk of bias (RoB 2, ROBINS-I, MMAT) and the tidy table the meta-analysis reads."""
