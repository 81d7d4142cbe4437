"""Model improvement: consented datasets of end users' samples (DESIGN.md section 1)."""
