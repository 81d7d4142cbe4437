"""Identity documents: OCR, MRZ (ICAO 9303) parsing and check digits, ID-card templates,
portrait extraction and document warnings.

Entry point: :class:`openkyc.documents.reader.DocumentReader` (``DocumentReader.default()``).
Nothing heavy is imported here.
"""
