"""Tencent Cloud eKYC (faceid 2018-03-01) and OCR (2018-11-19) compatible actions at ``POST /``."""
