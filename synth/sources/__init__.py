"""Live search of bibliographic APIs (PubMed, Europe PMC, OpenAlex, Crossref, ClinicalTrials.gov).

``http`` (one HTTP layer: session, rate limits, retries, cache), one module per source (pure request
building and parsing plus a paging step), ``runner`` (resumable runs into the store) and ``searchlog``
(the PRISMA-S table). See docs/search.md.
"""
