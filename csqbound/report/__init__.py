"""Rendering: tables (text, markdown, JSON, LaTeX) and figures.

Library functions compute and return data; the modules here only render it
(docs/architecture.md, "Math is pure and synchronous"): :mod:`csqbound.report.tables`
turns rows into text, :mod:`csqbound.report.plots` draws matplotlib figures.
Nothing is imported here, so importing one renderer never pulls in the other
(matplotlib is loaded only when a figure is drawn).
"""
